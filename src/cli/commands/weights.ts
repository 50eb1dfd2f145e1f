import { parseArgs } from 'node:util';
import { convertWeights } from '../../node/weights_convert';
import { fetchWeights, terminalProgress, WEIGHT_SOURCES, type WeightSourceName } from '../../node/weights_fetch';
import { UsageError, type Command } from '../command';

const USAGE = [
  'osteo weights convert SRC [--out FILE] [--channels 1|3] [--json]',
  'osteo weights fetch [keras|timm] [--url URL --sha256 HEX] [--dir weights] [--channels 1|3] [--json]',
].join('\n       ');

export const weightsCommand: Command = {
  name: 'weights',
  summary: 'convert VGG19 ImageNet weights (Keras .h5, torchvision/timm or smp safetensors, tfjs model.json) into weights/, or fetch the official files',
  usage: USAGE,
  async run(argv) {
    const [verb, ...rest] = argv;
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        channels: { type: 'string' },
        json: { type: 'boolean' },
        url: { type: 'string' },
        sha256: { type: 'string' },
        dir: { type: 'string' },
      },
    });
    const channels = values.channels === undefined ? undefined : Number(values.channels);
    if (channels !== undefined && channels !== 1 && channels !== 3) throw new UsageError(`--channels must be 1 or 3, got ${values.channels}`);
    const inputChannels = channels as 1 | 3 | undefined;
    if (verb === 'convert') {
      const src = positionals[0];
      if (!src || positionals.length > 1) throw new UsageError('convert takes exactly one SRC file (or tfjs model directory)');
      const report = await convertWeights(src, { out: values.out, inputChannels, weightsDir: values.dir });
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(report.summary);
        if (report.unexpected.length) console.log(`ignored (not part of the model): ${report.unexpected.join(', ')}`);
      }
      return 0;
    }
    if (verb === 'fetch') {
      const which = (positionals[0] ?? 'keras') as WeightSourceName;
      if (!(which in WEIGHT_SOURCES)) throw new UsageError(`unknown source '${which}'; one of: ${Object.keys(WEIGHT_SOURCES).join(', ')}`);
      const progress = await terminalProgress(`fetch ${which}`);
      try {
        const result = await fetchWeights(which, {
          url: values.url,
          sha256: values.sha256,
          weightsDir: values.dir,
          inputChannels,
          onProgress: progress.onProgress,
        });
        progress.stop();
        console.log(values.json ? JSON.stringify(result, null, 2) : `downloaded ${result.downloaded} (${result.bytes} bytes)${result.conversion ? `\n${result.conversion.summary}` : ''}`);
      } finally {
        progress.stop();
      }
      return 0;
    }
    throw new UsageError(`unknown verb '${verb ?? ''}': use convert or fetch`);
  },
};

import { convertWeights } from '../../node/weights_convert';
import { didYouMean } from '../../data/suggest';
import { fetchWeights, terminalProgress, WEIGHT_SOURCES, type WeightSourceName } from '../../node/weights_fetch';
import { UsageError, type Command } from '../command';
import { checks, defineOptions, parseOptions, requireExisting } from '../options';

const USAGE = [
  'osteo weights convert SRC [--out FILE] [--channels 1|3] [--json]',
  'osteo weights fetch [keras|timm] [--url URL --sha256 HEX] [--dir weights] [--channels 1|3] [--json]',
].join('\n');

const OPTIONS = defineOptions({
  out: { type: 'string', value: 'FILE', defaultText: 'DIR/vgg19-imagenet.safetensors (-1ch with one channel; unetplusplus-vgg19-SRC.safetensors for U-Net++ files)', description: 'convert: where the converted weights are written' },
  channels: { type: 'string', value: '1|3', defaultText: "keep the file's (3 for ImageNet files)", description: '1: sum the first conv over RGB for grey X-rays (osteo train works with either); 3: keep RGB', check: checks.oneOf(['1', '3']) },
  dir: { type: 'string', value: 'DIR', default: 'weights', description: 'weights folder: downloads go to DIR/downloads, conversions to DIR' },
  url: { type: 'string', value: 'URL', defaultText: "the source's official URL", description: 'fetch: download from this URL instead (a mirror); the known checksums then do not apply, give --sha256' },
  sha256: { type: 'string', value: 'HEX', defaultText: "the source's known checksum (keras: MD5)", description: 'fetch: expected SHA-256 of the download (64 hex digits)', check: (v, flag) => {
    if (!/^[0-9a-fA-F]{64}$/.test(v)) throw new UsageError(`--${flag} must be 64 hex digits, got '${v}'`);
  } },
  json: { type: 'boolean', description: 'print the report as JSON' },
});

export const weightsCommand: Command = {
  name: 'weights',
  summary: 'convert VGG19 ImageNet weights (Keras .h5, torchvision/timm or smp safetensors, tfjs model.json) into weights/, or fetch the official files',
  usage: USAGE,
  options: OPTIONS,
  sections: [
    {
      title: 'verbs',
      lines: [
        'convert SRC: Keras .h5, torchvision/timm or smp .safetensors, or a tfjs model.json (or its folder) → osteo safetensors in DIR.',
        `fetch [SOURCE]: download the official ImageNet VGG19 file (SOURCE ${Object.keys(WEIGHT_SOURCES).join(' or ')}, default keras), check it and convert it.`,
      ],
    },
  ],
  examples: [
    { command: 'osteo weights fetch --channels 1', what: 'download the Keras ImageNet VGG19 weights and write weights/vgg19-imagenet-1ch.safetensors (needs internet)' },
    { command: 'osteo weights convert ~/Downloads/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 --channels 1', what: 'convert a file downloaded by hand' },
  ],
  async run(argv) {
    const [verb, ...rest] = argv;
    if (verb !== 'convert' && verb !== 'fetch') throw new UsageError(`unknown verb '${verb ?? ''}'${didYouMean(verb ?? '', ['convert', 'fetch'])}: use convert or fetch`);
    const { values, positionals } = parseOptions(OPTIONS, rest, { positionals: true });
    const channels = values.channels === undefined ? undefined : Number(values.channels);
    if (channels !== undefined && channels !== 1 && channels !== 3) throw new UsageError(`--channels must be 1 or 3, got ${values.channels}`);
    const inputChannels = channels as 1 | 3 | undefined;
    if (verb === 'convert') {
      const src = positionals[0];
      if (!src || positionals.length > 1) throw new UsageError('convert takes exactly one SRC file (or tfjs model directory)');
      requireExisting(src, 'SRC');
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
      if (!(which in WEIGHT_SOURCES)) throw new UsageError(`unknown source '${which}'${didYouMean(which, Object.keys(WEIGHT_SOURCES))}; one of: ${Object.keys(WEIGHT_SOURCES).join(', ')}`);
      if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
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
    throw new UsageError(`unknown verb '${verb}'`);
  },
};

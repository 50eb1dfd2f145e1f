/**
 * `osteo calibrate --model CKPT --data SPEC [--split NAME] [--val-split F] [--seed N] [--flag-above X] --out CKPT2`:
 * learns the prediction guards of a model (src/train/calibrate.ts: shape model of the training
 * annotations, peak → expected-error calibration and orientation threshold on the validation
 * images of the model's own training split) and writes the model with them as a new file
 * (atomically; the tensors are copied byte for byte, only the metadata changes).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { prepareDataSpec } from '../../node/train_io';
import { writeFileAtomic } from '../../node/weights_io';
import { calibrateCheckpoint, runSplit } from '../../train/calibrate';
import { decodeCheckpoint, withGuards } from '../../train/checkpoint';
import { checkK } from '../../train/evaluate';
import { fmt } from '../../train/format';
import { UsageError, type Command } from '../command';
import { withEngine } from '../engine';
import { DATA_SPEC_SECTION } from '../help';
import { checks, defineOptions, parseOptions, SOFTWARE_OPTION } from '../options';
import { log } from '../progress';

const CALIBRATE_OPTIONS = defineOptions({
  model: { type: 'string', value: 'CKPT', required: true, description: 'osteo checkpoint to calibrate', check: checks.exists('file') },
  data: { type: 'string', value: 'SPEC', required: true, description: 'the labelled data the model was trained on (its training split gives the shape model, its validation split the calibration)', check: checks.dataSpec() },
  split: { type: 'string', value: 'NAME', defaultText: "the training run's (e.g. train)", description: 'named split of the data to use (ISBI 2015: train)' },
  'val-split': { type: 'string', value: 'F', defaultText: "the training run's, else 0.1", description: 'validation fraction of the split (the images calibration learns on: keep it the training run\'s so they are unseen)', check: checks.number({ above: 0, below: 1 }) },
  seed: { type: 'string', value: 'N', defaultText: "the training run's, else 1", description: 'seed of the train/validation split', check: checks.int(0) },
  'flag-above': { type: 'string', value: 'X', defaultText: '4 mm (px data: 4/240 of the longer side)', description: 'default threshold of the model: points whose expected error exceeds X (mm, or px for data without a spacing) are flagged low-confidence', check: checks.number({ above: 0 }) },
  out: { type: 'string', value: 'CKPT2', required: true, description: 'where to write the calibrated model (may be CKPT itself: replaced atomically)', check: checks.writableFile() },
  software: SOFTWARE_OPTION,
});

export interface CalibrateReport {
  model: string;
  out: string;
  train: number;
  val: number;
  unit: 'mm' | 'px';
  score: string;
  spearman: Record<string, number>;
  zLimit: number;
  flagAbove: number;
  unsureBelow: number;
}

export async function calibrateMain(argv: string[]): Promise<CalibrateReport> {
  const { values } = parseOptions(CALIBRATE_OPTIONS, argv);
  if (!values.model || !values.data || !values.out) throw new UsageError('--model CKPT, --data SPEC and --out CKPT2 are required');
  const bytes = new Uint8Array(await readFile(values.model));
  const ck = decodeCheckpoint(bytes, values.model);
  const run = ck.train.run ?? {};
  const split = values.split ?? (typeof run.split === 'string' ? run.split : undefined);
  return withEngine(values.software, async (engine) => {
    const refine = ck.refine?.settings;
    // working copies large enough for the refinement's crops (as training prepared them)
    const size = Math.max(ck.train.size, refine ? Math.ceil(refine.size / refine.crop / 1.5 / 32) * 32 : 0);
    const data = prepareDataSpec(values.data!, { size, ...(split ? { split } : {}), log });
    checkK(ck, data.k, data.spec);
    const { valSplit, seed } = runSplit(ck, { ...(values['val-split'] ? { valSplit: Number(values['val-split']) } : {}), ...(values.seed ? { seed: Number(values.seed) } : {}) });
    log(`calibrating ${values.model} on ${data.spec}${split ? ` (split ${split})` : ''}: validation fraction ${valSplit}, seed ${seed}`);
    const r = await calibrateCheckpoint(engine, ck, data, {
      valSplit, seed, spec: values.data!, ...(values['flag-above'] ? { flagAbove: Number(values['flag-above']) } : {}),
    });
    const g = r.guards;
    await writeFileAtomic(values.out!, withGuards(bytes, g, values.model));
    const report: CalibrateReport = {
      model: resolve(values.model!), out: resolve(values.out!), train: r.train, val: r.val, unit: r.unit, score: g.calibration!.score, spearman: r.spearman,
      zLimit: g.shape!.zLimit, flagAbove: g.calibration!.flagAbove, unsureBelow: g.orientation!.unsureBelow,
    };
    log(`shape model from ${r.train} training annotations (z limit ${fmt(g.shape!.zLimit)}); expected error from ${r.val} validation images ` +
      `(${g.calibration!.score} peak, Spearman ${Object.entries(r.spearman).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}); flag above ${fmt(g.calibration!.flagAbove)} ${r.unit}; ` +
      `orientation unsure below mean log peak ${fmt(g.orientation!.unsureBelow)}`);
    log(`wrote ${values.out}`);
    console.log(JSON.stringify(report));
    return report;
  });
}

export const calibrateCommand: Command = {
  name: 'calibrate',
  summary: 'learn the prediction guards of a model (shape model, expected errors, orientation check) and write the calibrated model',
  usage: 'osteo calibrate --model CKPT --data SPEC --out CKPT2 [--split NAME] [--val-split F] [--seed N] [--flag-above X] [--software]',
  options: CALIBRATE_OPTIONS,
  sections: [DATA_SPEC_SECTION],
  examples: [
    { command: 'osteo calibrate --model runs/isbi/checkpoint-best.safetensors --data isbi2015:/data/ISBI2015 --out runs/isbi/calibrated.safetensors', what: 'calibrate a model on its own training run\'s validation images (split and seed read from the checkpoint)' },
  ],
  async run(argv) {
    await calibrateMain(argv);
    return 0;
  },
};

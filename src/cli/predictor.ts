import type { Engine } from '../gpu/engine';
import { loadCheckpoint } from '../node/checkpoint';
import { predictorFromCheckpoint, type Predictor } from '../train/evaluate';
import type { GuardOptions } from '../train/guards';
import { parseOrientation } from '../landmarks/orientation';
import { REFINE_OPTION_DEFAULTS, TTA_MODES, type RefineOptions, type TtaMode } from '../landmarks/tta';
import { UsageError } from './command';
import { checks, type OptionDef } from './options';
import { log } from './progress';

/** A checkpoint file ready for inference (no optimizer state): `osteo eval` and `osteo predict`. */
export async function loadPredictorFile(engine: Engine, path: string, opts: { decode?: 'argmax' | 'blob'; batch?: number; guards?: GuardOptions | false; refine?: RefineOptions } = {}): Promise<Predictor> {
  const ck = await loadCheckpoint(path);
  if (opts.guards && !ck.guards) log(`note: ${path} carries no calibration: the shape check and calibrated confidence are skipped${opts.guards.orientation === 'always' || (opts.guards.orientation && opts.guards.orientation !== 'auto' && opts.guards.orientation !== 'off') ? '' : ', and so is the orientation check'} (run \`osteo calibrate\`)`);
  if (opts.refine && !ck.refine && (opts.refine.passes !== undefined && opts.refine.passes !== 1 || (opts.refine.tta ?? 'none') !== 'none')) {
    log(`note: ${path} is a one-stage model: --refine-passes and --tta (options of the refinement stage) change nothing`);
  }
  return predictorFromCheckpoint(engine, ck, opts);
}

/** The refinement stage's inference options of predict and eval (src/landmarks/tta.ts). */
export const REFINE_OPTIONS = {
  'refine-passes': { type: 'string', value: 'N', default: '1', description: 'two-stage models: refinement passes (2: crop again around each refined point and refine once more)', check: checks.int(1) },
  tta: { type: 'string', value: 'MODE', default: 'none', description: "two-stage models: test-time augmentation of the refinement crops: none; shifts (5 crops per landmark, ±SHIFT crop pixels diagonally, points mapped back and averaged); shifts-scales (also zoom 0.9 and 1.1); no flips", check: checks.oneOf([...TTA_MODES]) },
  'tta-shift': { type: 'string', value: 'PX', default: String(REFINE_OPTION_DEFAULTS.shift), description: 'the shift of --tta shifts in crop pixels', check: checks.number({ min: 0 }) },
} as const satisfies Record<string, OptionDef>;

/** The refinement options from parsed values. */
export function refineOptionsOf(values: { 'refine-passes'?: string; tta?: string; 'tta-shift'?: string }): RefineOptions {
  return {
    passes: Number(values['refine-passes'] ?? 1),
    tta: (values.tta ?? 'none') as TtaMode,
    shift: Number(values['tta-shift'] ?? REFINE_OPTION_DEFAULTS.shift),
  };
}

/** The guard options of predict and eval (docs/guards.md). */
export const GUARD_OPTIONS = {
  orientation: {
    type: 'string', value: 'MODE', default: 'auto',
    description: "auto: when the model looks unsure, try the image mirrored / turned / inverted and keep the orientation it is surest of; always: always do; off: take the image as given; or the file's known orientation (mirror, rot90, rot180, rot270, inverted, e.g. mirror+rot90)",
    check: (v: string, flag: string) => {
      if (!['auto', 'always', 'off'].includes(v) && !parseOrientation(v)) throw new UsageError(`--${flag} must be auto, always, off or an orientation (mirror, rot90, rot180, rot270, inverted, or a combination such as mirror+rot90); got '${v}'`);
    },
  },
  'flag-above': { type: 'string', value: 'X', defaultText: "the model's (4 mm)", description: 'flag points whose calibrated expected error exceeds X (mm; px for a model calibrated on data without a spacing)', check: checks.number({ above: 0 }) },
  'no-guards': { type: 'boolean', description: 'turn the orientation, shape and confidence guards off (points as the network gives them)' },
} as const satisfies Record<string, OptionDef>;

/** The guard options from parsed values. */
export function guardOptionsOf(values: { orientation?: string; 'flag-above'?: string; 'no-guards'?: boolean }): GuardOptions | false {
  if (values['no-guards']) return false;
  return { orientation: values.orientation ?? 'auto', ...(values['flag-above'] ? { flagAbove: Number(values['flag-above']) } : {}) };
}

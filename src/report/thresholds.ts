/**
 * Acceptance thresholds set before the measurement (host-neutral): the syntax
 * `mre<=2mm,sdr2>=0.8,p95<=150ms,ips>=20`, its parser (unknown keys or units are errors that list
 * the valid ones) and the check of each threshold against what was measured.
 */

/** What a threshold can be about. */
export type MetricKey = 'mre' | 'median' | 'sdr2' | 'sdr2.5' | 'sdr3' | 'sdr4' | 'p50' | 'p95' | 'first' | 'ips' | 'memory';
export type Comparison = '<=' | '<' | '>=' | '>';

interface KeyDef {
  what: string;
  /** Units accepted, with the factor to the canonical unit (mm/px as is, fraction, ms, images/s, bytes). */
  units: Record<string, number>;
  /** The canonical unit written in reports. */
  canonical: string;
  /** Which side is better (for the "margin" wording). */
  lowerIsBetter: boolean;
}

const LENGTH = { mm: 1, px: 1 };
const RATE = { '': 1, '%': 0.01 };
const TIME = { ms: 1, s: 1000 };

export const METRIC_KEYS: Record<MetricKey, KeyDef> = {
  mre: { what: 'mean radial error', units: LENGTH, canonical: 'mm|px', lowerIsBetter: true },
  median: { what: 'median radial error', units: LENGTH, canonical: 'mm|px', lowerIsBetter: true },
  sdr2: { what: 'share of landmarks within 2 mm (px)', units: RATE, canonical: '', lowerIsBetter: false },
  'sdr2.5': { what: 'share of landmarks within 2.5 mm (px)', units: RATE, canonical: '', lowerIsBetter: false },
  sdr3: { what: 'share of landmarks within 3 mm (px)', units: RATE, canonical: '', lowerIsBetter: false },
  sdr4: { what: 'share of landmarks within 4 mm (px)', units: RATE, canonical: '', lowerIsBetter: false },
  p50: { what: 'median latency per image at batch 1 (decode to points)', units: TIME, canonical: 'ms', lowerIsBetter: true },
  p95: { what: '95th-percentile latency per image at batch 1', units: TIME, canonical: 'ms', lowerIsBetter: true },
  first: { what: 'first image, shader compilation included', units: TIME, canonical: 'ms', lowerIsBetter: true },
  ips: { what: 'throughput at the best batch size', units: { '': 1, 'ips': 1, '/s': 1 }, canonical: 'images/s', lowerIsBetter: false },
  memory: { what: 'peak GPU memory of inference', units: { MiB: 2 ** 20, GiB: 2 ** 30, MB: 1e6, GB: 1e9 }, canonical: 'bytes', lowerIsBetter: true },
};

/**
 * The thresholds used when none are given: the example (ISBI-style clinical targets, a responsive single
 * image).
 */
export const DEFAULT_THRESHOLDS = 'mre<=2mm,sdr2>=0.8,p95<=150ms,ips>=20';

/**
 * A parsed threshold. `value` is in the canonical unit (fraction for SDR, ms, images/s, bytes); `unit` is mm / px for
 * errors.
 */
export interface Threshold {
  key: MetricKey;
  op: Comparison;
  value: number;
  /** mm or px for mre / median; '' otherwise. */
  unit: string;
  /** As the user wrote it. */
  text: string;
}

/** A bad threshold list (the message lists the valid keys or units). */
export class ThresholdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThresholdError';
  }
}

const unitList = (k: MetricKey): string => Object.keys(METRIC_KEYS[k].units).map((u) => (u === '' ? '(none)' : u)).join(', ');

/** Parses `mre<=2mm,sdr2>=0.8,p95<=150ms,ips>=20`. */
export function parseThresholds(spec: string): Threshold[] {
  const out: Threshold[] = [];
  const parts = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new ThresholdError(`no thresholds in '${spec}' (e.g. ${DEFAULT_THRESHOLDS})`);
  for (const text of parts) {
    const m = /^([a-z][a-z0-9.]*)\s*(<=|>=|<|>|≤|≥)\s*([-+]?[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*([a-z%/]*)$/i.exec(text);
    if (!m) throw new ThresholdError(`threshold '${text}': expected KEY OP VALUE[UNIT] with OP one of <=, <, >=, > (e.g. mre<=2mm)`);
    const key = m[1]!.toLowerCase() as MetricKey;
    const def = METRIC_KEYS[key];
    if (!def) throw new ThresholdError(`threshold '${text}': unknown key '${m[1]}'; valid keys: ${Object.keys(METRIC_KEYS).join(', ')}`);
    const op = (m[2] === '≤' ? '<=' : m[2] === '≥' ? '>=' : m[2]) as Comparison;
    const unitText = m[4]!;
    const unitKey = Object.keys(def.units).find((u) => u.toLowerCase() === unitText.toLowerCase());
    if (unitKey === undefined) throw new ThresholdError(`threshold '${text}': unknown unit '${unitText || '(none)'}' for ${key}; valid units: ${unitList(key)}`);
    let value = Number(m[3]) * def.units[unitKey]!;
    if (!Number.isFinite(value)) throw new ThresholdError(`threshold '${text}': the value is not a finite number`);
    if (key.startsWith('sdr')) {
      if (unitKey === '' && value > 1) throw new ThresholdError(`threshold '${text}': an SDR is a fraction in [0, 1] (0.8) or a percentage (80%)`);
      if (value < 0 || value > 1) throw new ThresholdError(`threshold '${text}': an SDR must lie in [0, 1] (or 0–100%)`);
    } else if (value < 0) throw new ThresholdError(`threshold '${text}': must not be negative`);
    if (out.some((t) => t.key === key && t.op === op)) throw new ThresholdError(`threshold '${text}': ${key} ${op} is given twice`);
    out.push({ key, op, value, unit: def.units === LENGTH ? unitKey : '', text });
  }
  return out;
}

/** What the thresholds are checked against (absent: not measured). */
export interface Measured {
  unit: 'mm' | 'px';
  mre?: number;
  median?: number;
  /** SDR in percent, keyed by radius as written ('2', '2.5', …). */
  sdrPercent?: Record<string, number>;
  p50Ms?: number;
  p95Ms?: number;
  firstMs?: number;
  ips?: number;
  peakBytes?: number;
}

export type ThresholdStatus = 'met' | 'missed' | 'not assessable';

export interface ThresholdCheck extends Threshold {
  status: ThresholdStatus;
  /** The measured value in the threshold's unit (SDR as a fraction), or null. */
  measured: number | null;
  /** e.g. "1.84 mm ≤ 2 mm" or why it could not be checked. */
  detail: string;
  /** Which part of the decision it belongs to. */
  kind: 'clinical' | 'operational';
}

const compare = (v: number, op: Comparison, t: number): boolean => (op === '<=' ? v <= t : op === '<' ? v < t : op === '>=' ? v >= t : v > t);
const OP_TEXT: Record<Comparison, string> = { '<=': '≤', '<': '<', '>=': '≥', '>': '>' };

/** Formats a value of `key` in its unit for reports. */
export function formatValue(key: MetricKey, v: number, unit = ''): string {
  if (key.startsWith('sdr')) return `${(v * 100).toFixed(1)}%`;
  if (key === 'mre' || key === 'median') return `${v.toFixed(2)} ${unit}`;
  const num = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  if (key === 'ips') return `${num(v)} images/s`;
  if (key === 'memory') return v >= 2 ** 30 ? `${(v / 2 ** 30).toFixed(2)} GiB` : `${(v / 2 ** 20).toFixed(1)} MiB`;
  return `${num(v)} ms`;
}

/** Checks every threshold against the measurements. */
export function checkThresholds(thresholds: readonly Threshold[], m: Measured): ThresholdCheck[] {
  return thresholds.map((t) => {
    const kind: ThresholdCheck['kind'] = ['mre', 'median'].includes(t.key) || t.key.startsWith('sdr') ? 'clinical' : 'operational';
    let v: number | undefined;
    let why = 'not measured';
    switch (t.key) {
      case 'mre': case 'median':
        v = m[t.key];
        if (v !== undefined && t.unit !== m.unit) {
          why = `errors are in ${m.unit} (${m.unit === 'px' ? 'the data has no pixel spacing' : 'the data has a pixel spacing'}); give ${t.key}${t.op}N${m.unit}`;
          v = undefined;
        }
        break;
      case 'sdr2': case 'sdr2.5': case 'sdr3': case 'sdr4': {
        const p = m.sdrPercent?.[t.key.slice(3)];
        v = p === undefined ? undefined : p / 100;
        break;
      }
      case 'p50': v = m.p50Ms; break;
      case 'p95': v = m.p95Ms; break;
      case 'first': v = m.firstMs; break;
      case 'ips': v = m.ips; break;
      case 'memory': v = m.peakBytes; break;
    }
    const unit = t.key === 'mre' || t.key === 'median' ? t.unit : '';
    if (v === undefined || !Number.isFinite(v)) return { ...t, kind, status: 'not assessable', measured: null, detail: why };
    const ok = compare(v, t.op, t.value);
    const sdrUnit = t.key.startsWith('sdr') && m.unit === 'px' ? ' (radius in px)' : '';
    return { ...t, kind, status: ok ? 'met' : 'missed', measured: v, detail: `${formatValue(t.key, v, unit)} ${ok ? '' : 'not '}${OP_TEXT[t.op]} ${formatValue(t.key, t.value, unit)}${sdrUnit}`.replace('  ', ' ') };
  });
}

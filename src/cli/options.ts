/**
 * One declarative table of options per command. The same table gives node:util parseArgs its
 * options, checks every value before a command acquires a GPU, and writes the command's --help,
 * so the three cannot disagree.
 */
import { existsSync, statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { didYouMean } from '../data/suggest';
import { checkDatasetSpec } from '../node/data_readers';
import { checkWritableDir, checkWritableFile } from '../node/out_dir';
import { UsageError } from './command';

/** Checks a given value; throws a UsageError naming the flag. */
export type Check = ((value: string, flag: string) => void) & {
  /** Also check the option's fixed default when it is not given (output paths: the default must be writable too). */
  checkDefault?: boolean;
};

export interface OptionDef {
  type: 'string' | 'boolean';
  /** Placeholder for the value in help (string options): N, FILE, SPEC, argmax|blob … */
  value?: string;
  /** What the option does (one or two sentences). */
  description: string;
  /** A fixed default: handed to parseArgs and printed in help. */
  default?: string;
  /** A default that depends on the adapter or on other options: printed in help only. */
  defaultText?: string;
  short?: string;
  /** Shown as "(required)"; the command checks it (some are required only in some modes). */
  required?: boolean;
  /** Checks the value when the option is given (before any engine is acquired). */
  check?: Check;
}

export type OptionTable = Record<string, OptionDef>;

/** Keeps the table's literal types (for typed values) while checking it is an OptionTable. */
export const defineOptions = <const T extends OptionTable>(table: T): T => table;

export type OptionValues<T extends OptionTable> = {
  [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean | undefined : T[K] extends { default: string } ? string : string | undefined;
};

export interface Parsed<T extends OptionTable> {
  values: OptionValues<T>;
  positionals: string[];
  /** Options given on the command line (not defaults). */
  given: Set<keyof T & string>;
}

/** The parseArgs form of a table. */
export function parseArgsOptions(table: OptionTable): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, d] of Object.entries(table)) {
    out[name] = d.type === 'boolean' ? { type: 'boolean' } : { type: 'string', ...(d.default !== undefined ? { default: d.default } : {}) };
    if (d.short) out[name]!.short = d.short;
  }
  return out;
}

/**
 * Parses argv against a table: unknown options (with "did you mean"), options missing their
 * value, values given to switches, unexpected positionals, then each given value's check.
 */
export function parseOptions<T extends OptionTable>(table: T, argv: string[], opts: { positionals?: boolean } = {}): Parsed<T> {
  const options = parseArgsOptions(table);
  const names = Object.keys(table);
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const given = new Set<keyof T & string>();
  for (const t of tokens) {
    if (t.kind === 'positional') {
      if (!opts.positionals) throw new UsageError(`unexpected argument '${t.value}'`);
      continue;
    }
    if (t.kind !== 'option') continue;
    const d = table[t.name];
    if (!d) {
      const long = t.rawName.startsWith('--');
      const candidates = long ? names : [...names, ...names.flatMap((n) => (table[n]!.short ? [table[n]!.short!] : []))];
      throw new UsageError(`unknown option '${t.rawName}'${didYouMean(t.rawName.replace(/^--?/, ''), candidates, (n) => (n.length === 1 ? `-${n}` : `--${n}`))}`);
    }
    if (d.type === 'boolean' && t.value !== undefined) throw new UsageError(`option '--${t.name}' takes no value (got '${t.rawName}=${t.value}')`);
    if (d.type === 'string') {
      if (t.value === undefined) throw new UsageError(`option '--${t.name}' needs a value: --${t.name} ${d.value ?? 'VALUE'}`);
      // parseArgs refuses '--lr -1' as ambiguous (it may be a forgotten value before another flag)
      if (!t.inlineValue && t.value.startsWith('-')) {
        throw new UsageError(`option '--${t.name}' needs a value, got '${t.value}' (write --${t.name}=${t.value} if that is the value)`);
      }
    }
    given.add(t.name as keyof T & string);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: !!opts.positionals });
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw e;
    throw new UsageError((e as Error).message.split('\n')[0]!.replace(/^Option/, 'option'));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  for (const name of given) {
    const d = table[name]!;
    const v = values[name];
    if (d.check && typeof v === 'string') d.check(v, name);
  }
  for (const [name, d] of Object.entries(table)) {
    const v = values[name];
    if (!given.has(name as keyof T & string) && d.check?.checkDefault && typeof v === 'string') d.check(v, name);
  }
  return { values: values as OptionValues<T>, positionals: parsed.positionals, given };
}

/** `--software`, shared by every command that acquires a GPU at the user's choice. */
export const SOFTWARE_OPTION = {
  type: 'boolean',
  description: 'use the CPU fallback (SwiftShader software Vulkan) even when a GPU is present',
} as const satisfies OptionDef;

// ------------------------------------------------------------------------------ checks

const plural = (min: number) => (min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`);

/** A number as the user wrote it ('' and 'abc' are not numbers, '1e-4' is). */
export function toNumber(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} expects a number, got '${v}'`);
  return n;
}

/** Largest model input side accepted on the command line (typed arrays past this fail with a bare RangeError). */
export const MAX_INPUT_SIZE = 2048;

export const checks = {
  int(min = 1, o: { max?: number; maxWhy?: string; multipleOf?: number; why?: string } = {}): Check {
    return (v, flag) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`--${flag} must be ${plural(min)}, got ${v}`);
      if (o.max !== undefined && n > o.max) throw new UsageError(`--${flag} must be at most ${o.max}, got ${v}${o.maxWhy ? ` (${o.maxWhy})` : ''}`);
      if (o.multipleOf && n % o.multipleOf) throw new UsageError(`--${flag} ${v} must be a multiple of ${o.multipleOf}${o.why ? ` (${o.why})` : ''}`);
    };
  },
  /** A model input side in pixels: a multiple of 32, at most MAX_INPUT_SIZE. */
  inputSize(): Check {
    return checks.int(32, { max: MAX_INPUT_SIZE, maxWhy: 'one 64-channel activation at 2048x2048 is already 1 GiB, past most GPUs\' buffer limits', multipleOf: 32, why: 'the encoder halves it five times' });
  },
  /** A finite number in a range: min/max inclusive, above/below exclusive. */
  number(o: { min?: number; max?: number; above?: number; below?: number } = {}): Check {
    return (v, flag) => {
      const n = toNumber(v, flag);
      const lo = o.above !== undefined ? `> ${o.above}` : o.min !== undefined ? `≥ ${o.min}` : '';
      const hi = o.below !== undefined ? `< ${o.below}` : o.max !== undefined ? `≤ ${o.max}` : '';
      const ok = (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max) && (o.above === undefined || n > o.above) && (o.below === undefined || n < o.below);
      if (!ok) throw new UsageError(`--${flag} must be ${[lo, hi].filter(Boolean).join(' and ')}, got ${v}`);
    };
  },
  oneOf(choices: readonly string[]): Check {
    return (v, flag) => {
      if (!choices.includes(v)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}; got '${v}'${didYouMean(v, choices)}`);
    };
  },
  /** Comma-separated choices, each one of `choices`. */
  someOf(choices: readonly string[]): Check {
    return (v, flag) => {
      const items = v.split(',').map((s) => s.trim());
      if (!items.length || items.some((s) => !s)) throw new UsageError(`--${flag} expects a comma-separated list of ${choices.join(', ')}; got '${v}'`);
      for (const s of items) if (!choices.includes(s)) throw new UsageError(`--${flag}: unknown '${s}'${didYouMean(s, choices)}; one of ${choices.join(', ')}`);
    };
  },
  /** Comma-separated integers ≥ min, exactly `count` of them when given. */
  intList(o: { count?: number; min?: number } = {}): Check {
    const min = o.min ?? 1;
    return (v, flag) => {
      const parts = v.split(',').map((s) => s.trim());
      const ok = parts.every((s) => s !== '' && Number.isInteger(Number(s)) && Number(s) >= min) && (o.count === undefined || parts.length === o.count);
      if (!ok) throw new UsageError(`--${flag} needs ${o.count ?? 'one or more'} ${min === 0 ? 'non-negative' : 'positive'} integers separated by commas, got '${v}'`);
    };
  },
  /** An existing file (or, with `dir`, an existing file or folder). */
  exists(what: 'file' | 'path' = 'file'): Check {
    return (v, flag) => {
      let isFile = false;
      try {
        isFile = statSync(v).isFile();
      } catch {
        throw new UsageError(`--${flag} ${v}: no such ${what === 'file' ? 'file' : 'file or folder'}`);
      }
      if (what === 'file' && !isFile) throw new UsageError(`--${flag} ${v}: is a folder, not a file`);
    };
  },
  /** An output folder (made later when missing) where files can be written; nothing is left behind. */
  writableDir(): Check {
    return Object.assign((v: string, flag: string) => usage(() => checkWritableDir(v, `--${flag}`)), { checkDefault: true });
  },
  /** An output file whose folder is writable (see writableDir). */
  writableFile(): Check {
    return Object.assign((v: string, flag: string) => usage(() => checkWritableFile(v, `--${flag}`)), { checkDefault: true });
  },
  /** A data spec: syntax, query keys and values, and that its path exists (nothing is read). */
  dataSpec(): Check {
    return (v, flag) => checkSpec(v, flag);
  },
  /** Comma-separated data specs. */
  dataSpecs(): Check {
    return (v, flag) => {
      for (const s of v.split(',').map((x) => x.trim()).filter(Boolean)) checkSpec(s, flag);
    };
  },
};

/** Runs a check from src/node, reporting its error as a usage error (exit 2, with the --help hint). */
function usage(f: () => void): void {
  try {
    f();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function checkSpec(spec: string, flag: string): void {
  try {
    checkDatasetSpec(spec);
  } catch (e) {
    throw new UsageError(`--${flag}: ${(e as Error).message}`);
  }
}

/** Existence check for a path argument that is not an option (IMAGE…, SRC). */
export function requireExisting(path: string, what: string): void {
  if (!existsSync(path)) throw new UsageError(`${what} ${path}: no such file`);
}

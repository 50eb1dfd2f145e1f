/**
 * Help is generated from each command's option table: every option with its default, every
 * command with examples whose flags exist; --version is package.json's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { defaultText } from '../../src/cli/help';
import { parseOptions } from '../../src/cli/options';
import { COMMANDS, VERSION } from '../../src/cli/run';
import { ensureBuilt, ROOT, runBuilt, runInProcess } from './io';

const flat = (s: string): string => s.replace(/\s+/g, ' ');
const pkgVersion = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('osteo CMD --help', () => {
  test.each(COMMANDS.map((c) => [c.name, c] as const))('%s: every option with its description and default, and examples', async (name, cmd) => {
    const r = await runInProcess([name, '--help']);
    expect(r.code).toBe(0);
    const text = flat(r.stdout);
    expect(text).toContain(flat(cmd.summary));
    const options = Object.entries(cmd.options);
    expect(options.length).toBeGreaterThan(0);
    for (const [opt, d] of options) {
      expect(text, `--${opt}`).toContain(`--${opt}${d.type === 'string' ? ` ${d.value}` : ''} `);
      expect(text, `--${opt} description`).toContain(flat(d.description));
      if (d.type === 'string') {
        // a value option states its default, or that it is required
        expect(d.value, `--${opt} placeholder`).toBeTruthy();
        const def = defaultText(d);
        expect(d.required || def !== '', `--${opt} has no default`).toBe(true);
        if (!d.required) expect(text, `--${opt} default`).toContain(flat(`(default: ${def})`));
      }
    }
    expect(cmd.examples.length).toBeGreaterThanOrEqual(1);
    for (const e of cmd.examples) {
      expect(e.command.startsWith(`osteo ${name}`), e.command).toBe(true);
      expect(text).toContain(flat(e.command));
      expect(text).toContain(flat(e.what));
      // the example's flags are this command's (up to a chained second command)
      for (const flag of e.command.split('&&')[0]!.match(/(?<=\s)--[a-z][a-z-]*/g) ?? []) expect(cmd.options, `${e.command}: ${flag}`).toHaveProperty(flag.slice(2));
    }
  });

  test('fixed defaults are what parseArgs applies', () => {
    for (const cmd of COMMANDS) {
      const { values } = parseOptions(cmd.options, []);
      for (const [opt, d] of Object.entries(cmd.options)) expect(values[opt], `${cmd.name} --${opt}`).toBe(d.type === 'string' ? d.default : undefined);
    }
  });

  test('defaults that depend on the adapter say so', async () => {
    const profile = flat((await runInProcess(['profile', '--help'])).stdout);
    expect(profile).toContain('--size N input size in pixels (N x N), a multiple of 32 (default: GPU: 512 (256 with --train), CPU fallback: 64)');
    const bench = flat((await runInProcess(['bench', '--help'])).stdout);
    expect(bench).toContain('(default: GPU: 256 for kernels, 512 for inference; CPU fallback: 32)');
    const demo = flat((await runInProcess(['demo', '--help'])).stdout);
    expect(demo).toMatch(/--epochs N training epochs \(default: GPU: \d+, CPU fallback: \d+ \(fixed work/);
  });

  test('commands that read data explain the spec and the keys of each kind', async () => {
    for (const name of ['train', 'eval', 'predict', 'experiment']) {
      const text = flat((await runInProcess([name, '--help'])).stdout);
      expect(text, name).toContain('keys of synthetic: n, size, seed');
      expect(text, name).toContain('keys of isbi2015: annotator, strict, limit, missing');
    }
  });

  test('osteo help CMD is osteo CMD --help; osteo --help lists every command', async () => {
    const a = await runInProcess(['help', 'train']);
    const b = await runInProcess(['train', '-h']);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const main = await runInProcess(['--help']);
    expect(main.code).toBe(0);
    for (const c of COMMANDS) expect(main.stdout).toMatch(new RegExp(`^  ${c.name} +\\S`, 'm'));
    const unknown = await runInProcess(['help', 'trian']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'trian' (did you mean 'train'?)");
  });
});

describe('osteo --version', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  test('the built CLI prints package.json\'s version, with --version and -V', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runBuilt([flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(pkgVersion);
    }
    expect((await runBuilt(['--help'])).stdout).toContain(`osteo ${pkgVersion} —`);
  });

  test('from source it reads package.json', () => {
    expect(VERSION).toBe(pkgVersion);
  });
});

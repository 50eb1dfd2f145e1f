/**
 * The README's worked example (the decision on a second site) quotes only the committed run in
 * docs/examples/site-hamedan/ and bench/results/site-hamedan.json: both reports' verdicts appear in
 * it as the files state them, its numbers are the generated block (checked against the result file
 * by test/docs/readme_numbers.test.ts), and the prose around the block holds no number of its own
 * that the files do not hold.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { ArmsDoc } from '../../src/report/arms';
import type { ReportDoc } from '../../src/report/document';

const ROOT = resolve(__dirname, '../..');
const DIR = join(ROOT, 'docs/examples/site-hamedan');

/** The README's worked example of the decision report (its reference is docs/report.md). */
function section(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Worked example');
  expect(start, 'README has no "## Worked example" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 4);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('README worked example: the decision on a second site', () => {
  test('the committed example exists: both reports, the curves per arm', () => {
    for (const f of ['report.html', 'report.json', 'report.md', 'arms.json', 'arms.md', 'arms.svg', 'two-site-model/report.json', 'two-site-model/report.html']) expect(existsSync(join(DIR, f)), f).toBe(true);
    const arms = JSON.parse(readFileSync(join(DIR, 'arms.json'), 'utf8')) as ArmsDoc;
    expect(arms.arms.map((a) => a.status)).toEqual(['run', 'run', 'not run']);
    for (const a of arms.arms.filter((x) => x.curve)) expect(existsSync(join(DIR, a.name.replace(/[^A-Za-z0-9._-]+/g, '-'), 'learning-curve.json')), a.name).toBe(true);
    // a clone elsewhere has none of this machine's folders: the files name paths relative to the repo or the study
    for (const f of ['arms.json', 'from-osteo-isbi2015-ceph/learning-curve.json', 'scratch/learning-curve.json', 'report.json', 'two-site-model/report.json']) {
      expect(readFileSync(join(DIR, f), 'utf8'), f).not.toMatch(/\/work\/|\/tmp\/|\/home\//);
    }
  });

  test('its verdicts are the files\', and the prose outside the generated block quotes no number the files do not hold', () => {
    const doc = JSON.parse(readFileSync(join(DIR, 'report.json'), 'utf8')) as ReportDoc;
    const two = JSON.parse(readFileSync(join(DIR, 'two-site-model/report.json'), 'utf8')) as ReportDoc;
    const text = section();
    expect(text).toContain(doc.verdict.sentence);
    expect(text).toContain(two.verdict.sentence);
    const files = [readFileSync(join(DIR, 'report.md'), 'utf8'), readFileSync(join(DIR, 'arms.md'), 'utf8'), readFileSync(join(ROOT, 'bench/results/site-hamedan.json'), 'utf8')].join('\n');
    const prose = text.replace(/```[\s\S]*?```/g, '').replace(/<!-- numbers:site-decision:start -->[\s\S]*<!-- numbers:site-decision:end -->/, '');
    const numbers = [...prose.matchAll(/(?<![\w.])\d+\.\d+(?![\w.])|(?<![\w.])\d+(?=\s?(?:ms|mm|px|images|%|h\b))/g)].map((m) => m[0]);
    const missing = numbers.filter((n) => !files.includes(n));
    expect(missing, `numbers in the README section that the example files do not hold: ${missing.join(', ')}`).toEqual([]);
  });
});

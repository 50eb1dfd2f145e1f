/**
 * The README's worked example of `osteo report` quotes numbers only from the committed run in
 * docs/examples/report-isbi/: every number in its section must be one the files hold (as printed
 * there), and the verdict it quotes is the file's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { ReportDoc } from '../../src/report/document';
import type { LearningCurveDoc } from '../../src/report/learning_curve';

const ROOT = resolve(__dirname, '../..');
const DIR = join(ROOT, 'docs/examples/report-isbi');

/** The README's worked example of the decision report (its reference is docs/report.md). */
function section(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Worked example');
  expect(start, 'README has no "## Worked example" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 4);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('README worked example of osteo report', () => {
  test('the committed example exists: report.{html,json,md} and the learning curve', () => {
    for (const f of ['report.html', 'report.json', 'report.md', 'learning-curve.json', 'learning-curve.md', 'learning-curve.svg']) expect(existsSync(join(DIR, f)), f).toBe(true);
  });

  test('its verdict and every measured number in the section come from the committed files', () => {
    const doc = JSON.parse(readFileSync(join(DIR, 'report.json'), 'utf8')) as ReportDoc;
    const lc = JSON.parse(readFileSync(join(DIR, 'learning-curve.json'), 'utf8')) as LearningCurveDoc;
    const text = section();
    expect(text).toContain(doc.verdict.sentence);
    const files = [readFileSync(join(DIR, 'report.md'), 'utf8'), readFileSync(join(DIR, 'learning-curve.md'), 'utf8'), JSON.stringify(doc), JSON.stringify(lc)].join('\n');
    // numbers with a decimal point or a unit, outside code blocks
    const prose = text.replace(/```[\s\S]*?```/g, '');
    const numbers = [...prose.matchAll(/(?<![\w.])\d+\.\d+(?![\w.])|(?<![\w.])\d+(?=\s?(?:ms|mm|images|%|h\b))/g)].map((m) => m[0]);
    expect(numbers.length).toBeGreaterThan(5);
    const missing = numbers.filter((n) => !files.includes(n));
    expect(missing, `numbers in the README section that the example files do not hold: ${missing.join(', ')}`).toEqual([]);
  });
});

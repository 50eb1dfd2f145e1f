/**
 * The one SVG chart module (src/util/svg_chart.ts): well-formed SVG with axes, a legend entry per
 * series, labels escaped, and finite coordinates whatever the data — one point, all-equal values,
 * gaps (NaN), an empty series.
 */
import { describe, expect, test } from 'vitest';
import { decades, finiteRuns, legend, lineChart, linearScale, logScale, niceLogBounds, svgOpen, ticks } from '../../src/util/svg_chart';

/** Every number in a coordinate-like attribute. */
function coordinates(svg: string): number[] {
  const out: number[] = [];
  for (const m of svg.matchAll(/\b(?:x|y|x1|x2|y1|y2|cx|cy|width|height|r)="([^"]*)"/g)) out.push(Number(m[1]));
  for (const m of svg.matchAll(/\bpoints="([^"]*)"/g)) for (const p of m[1]!.trim().split(/[\s,]+/)) out.push(Number(p));
  for (const m of svg.matchAll(/translate\(([^,]+),([^)]+)\)/g)) out.push(Number(m[1]), Number(m[2]));
  return out;
}

/** Tags open and close in order (no DOM here: a stack over the markup). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-z]+)\b[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (!m[1]) stack.push(m[2]!);
    else if (stack.pop() !== m[2]) return false;
  }
  return stack.length === 0;
}

const chart = (series: { label: string; points: [number, number][]; band?: [number, number, number][] }[], extra: object = {}) =>
  lineChart({ id: 'c', title: 'T', xTitle: 'epoch', yTitle: 'MRE (mm)', series, ...extra });

describe('svg_chart', () => {
  test('a line chart: one svg with a title, both axis titles, a legend entry per series, a line per series', () => {
    const svg = chart([{ label: 'a', points: [[1, 3], [2, 2], [3, 1.5]] }, { label: 'b', points: [[1, 4], [2, 3.5], [3, 3]], band: [[1, 3, 5], [2, 3, 4], [3, 2.5, 3.5]] }], { refs: [{ label: 'target', y: 2 }] });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="c"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<svg/g)).toHaveLength(1);
    expect(balanced(svg)).toBe(true);
    expect(svg).toContain('>epoch</text>');
    expect(svg).toContain('>MRE (mm)</text>');
    const labels = [...svg.matchAll(/<g class="legend-item">.*?<text[^>]*>([^<]*)<\/text><\/g>/g)].map((m) => m[1]);
    expect(labels).toEqual(['a', 'b', 'target']);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg.match(/class="band"/g)).toHaveLength(1);
    expect(svg.match(/class="ref"/g)).toHaveLength(1);
    for (const v of coordinates(svg)) expect(Number.isFinite(v)).toBe(true);
  });

  test('labels and titles are escaped', () => {
    const svg = lineChart({ title: 'a < b & "c"', xTitle: 'x<y>', yTitle: 'y', series: [{ label: '<script>alert(1)</script>', points: [[1, 1], [2, 2]] }] });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    expect(svg).toContain('x&lt;y&gt;');
    expect(svgOpen({ id: 'x"y', width: 10, height: 10 })).toContain('id="x&quot;y"');
  });

  test('edge cases give finite coordinates: one point, all-equal values, NaN gaps, an empty series, all zero', () => {
    const cases: [number, number][][] = [[[1, 5]], [[1, 2], [2, 2], [3, 2]], [[1, 0], [2, 0]], [[3, 7], [3, 7]], []];
    for (const points of cases) {
      const svg = chart([{ label: 's', points }]);
      expect(balanced(svg)).toBe(true);
      const c = coordinates(svg);
      expect(c.length).toBeGreaterThan(10);
      for (const v of c) expect(Number.isFinite(v), JSON.stringify(points)).toBe(true);
      expect(svg).not.toMatch(/NaN|Infinity/);
    }
    // a single point is drawn as a dot
    expect(chart([{ label: 's', points: [[1, 5]] }])).toMatch(/<circle cx="[\d.]+" cy="[\d.]+"/);
  });

  test('NaN points are skipped: the line breaks there instead of dropping to 0', () => {
    const svg = chart([{ label: 's', points: [[1, 1], [2, 2], [3, Number.NaN], [4, 3], [5, 4]] }]);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    for (const m of svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)) expect(m[1]!.split(' ')).toHaveLength(2);
    expect(svg).not.toMatch(/NaN/);
    expect(finiteRuns([[1, 1], [2, Number.NaN], [3, 3], [4, Number.POSITIVE_INFINITY]])).toEqual([[[1, 1]], [[3, 3]]]);
  });

  test('a clipped axis says so and keeps the points inside the frame', () => {
    const svg = chart([{ label: 's', points: [[1, 100], [2, 5], [3, 4]] }], { yClip: 20 });
    expect(svg).toContain('MRE (mm) (clipped at 20)');
    const ys = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(Math.min(...ys)).toBeGreaterThan(40);
  });

  test('the legend wraps before the right edge', () => {
    const items = Array.from({ length: 8 }, (_, i) => ({ label: `a rather long series name ${i}`, colour: '#000' }));
    const one = legend(items.slice(0, 1), 10, 20, { right: 300 });
    const many = legend(items, 10, 20, { right: 300 });
    expect(many.height).toBeGreaterThan(one.height * 4);
    for (const m of many.svg.matchAll(/<text x="([\d.]+)"/g)) expect(Number(m[1])).toBeLessThan(300);
  });

  test('scales and ticks: nice bounds, an empty domain in the middle, log decades', () => {
    expect(ticks(7.3)).toEqual([0, 2, 4, 6, 8]);
    expect(ticks(0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks(Number.NaN).every(Number.isFinite)).toBe(true);
    expect(linearScale(3, 3, 0, 100)(3)).toBe(50);
    expect(linearScale(0, 10, 100, 0)(5)).toBe(50);
    expect(logScale(1, 100, 0, 200)(10)).toBeCloseTo(100, 9);
    expect(niceLogBounds([0.3, 40, Number.NaN, -1])).toEqual([0.1, 100]);
    expect(niceLogBounds([])).toEqual([0.1, 10]);
    expect(decades(0.1, 100)).toEqual([0.1, 1, 10, 100]);
  });
});

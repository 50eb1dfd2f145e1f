/**
 * The numbers in README.md, docs/gpu.md ("Measured on a GPU", "What works without a GPU"),
 * docs/recipes.md, weights/README.md and bench/results/README.md are rendered from bench/results/*.json
 * (bench/readme_numbers.ts). This
 * regenerates every marked block from the committed files and fails when the committed text
 * differs, and checks that no measured-looking number sits outside the blocks in those sections.
 */
import { describe, expect, it } from 'vitest';
import { blockText, driftMessage, findDrift, loadResultFiles, readDocs, spliceBlocks } from '../../bench/readme_docs';
import { DOCS } from '../../bench/readme_numbers';

const root = process.cwd();
const files = loadResultFiles(root);
const docs = readDocs(root);

/** Numbers with a unit of measurement (not targets: "≤ 25 ms", "≥ 2x" are allowed). */
const MEASURED = /(?<![≥≤]\s?)(?<![\w.–])\d+(?:\.\d+)?(?:–\d+(?:\.\d+)?)?\s?(?:ms|µs|TFLOP\/s|GFLOP\/s|TB\/s|GB\/s|GiB|MB|%|x(?![\w²]))/g;

/** The text of `doc` outside marked blocks and code fences, limited to the sections named (all when none). */
function proseOutsideBlocks(doc: string, sections?: string[]): string {
  let text = doc.replace(/<!-- numbers:([\w-]+):start -->[\s\S]*?<!-- numbers:\1:end -->/g, '').replace(/```[\s\S]*?```/g, '');
  if (sections) {
    const parts = text.split(/^(?=## )/m);
    text = parts.filter((p) => sections.some((s) => p.startsWith(`## ${s}`))).join('');
  }
  return text;
}

describe('README numbers come from bench/results/', () => {
  it('every generated block matches the committed result files', () => {
    const drift = findDrift(docs, files);
    expect(drift, driftMessage(drift)).toEqual([]);
  });

  it('no measured number outside the generated blocks in the sections they cover', () => {
    const scopes: [string, string[] | undefined][] = [
      ['docs/gpu.md', ['Measured on a GPU', 'What works without a GPU']],
      ['bench/results/README.md', undefined],
    ];
    for (const [doc, sections] of scopes) {
      const prose = proseOutsideBlocks(docs[doc]!, sections);
      if (sections) for (const s of sections) expect(prose, `${doc}: section "${s}" not found`).toContain(`## ${s}`);
      const stray = [...prose.matchAll(MEASURED)].map((m) => prose.slice(Math.max(0, m.index! - 30), m.index! + m[0].length + 10).replace(/\n/g, ' '));
      expect(stray, `${doc}: numbers outside the <!-- numbers:… --> blocks — generate them in bench/readme_numbers.ts or drop them:\n${stray.join('\n')}`).toEqual([]);
    }
  });

  it('detects a changed number inside a block and names the block', () => {
    const doc = 'docs/gpu.md';
    const committed = blockText(docs[doc]!, 'gpu-table');
    const m = /\d+\.\d/.exec(committed)!;
    const edited = docs[doc]!.replace(committed, committed.replace(m[0], `${Number(m[0]) + 1}`));
    const drift = findDrift({ ...docs, [doc]: edited }, files);
    expect(drift.map((d) => `${d.doc} ${d.block}`)).toEqual(['docs/gpu.md gpu-table']);
    expect(driftMessage(drift)).toContain('npm run docs:numbers');
  });

  it('a result file change reaches the rendered text', () => {
    const moved = structuredClone(files);
    moved.h200Session.inference_tuned.median += 10;
    expect(findDrift(docs, moved).some((d) => d.doc === 'docs/gpu.md' && d.block === 'gpu-table')).toBe(true);
  });

  it('splicing is idempotent and rejects missing, doubled and unknown markers', () => {
    const blocks = { a: 'one\ntwo' };
    const doc = 'x\n<!-- numbers:a:start -->\nold\n<!-- numbers:a:end -->\ny\n';
    const once = spliceBlocks(doc, blocks);
    expect(once).toBe('x\n<!-- numbers:a:start -->\none\ntwo\n<!-- numbers:a:end -->\ny\n');
    expect(spliceBlocks(once, blocks)).toBe(once);
    expect(() => spliceBlocks('x\n', blocks)).toThrow(/no block 'a'/);
    expect(() => spliceBlocks(doc + doc, blocks)).toThrow(/appears 2 times/);
    expect(() => spliceBlocks(`${doc}<!-- numbers:b:start --><!-- numbers:b:end -->`, blocks)).toThrow(/unknown block 'b'/);
  });

  it('every document has a marker pair for each of its blocks', () => {
    for (const [doc, renderers] of Object.entries(DOCS)) for (const name of Object.keys(renderers)) expect(() => blockText(docs[doc]!, name)).not.toThrow();
  });
});

/**
 * Splices the blocks of bench/readme_numbers.ts into the documents between their markers
 * `<!-- numbers:NAME:start -->` and `<!-- numbers:NAME:end -->`, and checks that the committed
 * text matches. `npm run docs:numbers` (scripts/docs_numbers.mjs) writes; `-- --check` only
 * compares; test/docs/readme_numbers.test.ts runs the same comparison.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCS, RESULT_FILES, type BlockRenderers, type ResultFiles } from './readme_numbers';

export function loadResultFiles(root: string): ResultFiles {
  const out: Partial<Record<keyof ResultFiles, unknown>> = {};
  for (const [key, file] of Object.entries(RESULT_FILES)) out[key as keyof ResultFiles] = JSON.parse(readFileSync(join(root, 'bench/results', file), 'utf8'));
  return out as ResultFiles;
}

const marker = (name: string, end: 'start' | 'end'): string => `<!-- numbers:${name}:${end} -->`;
const MARKER = /<!-- numbers:([\w-]+):(start|end) -->/g;

/** The text between a block's markers (without the newlines next to them). */
export function blockText(doc: string, name: string): string {
  const a = doc.indexOf(marker(name, 'start'));
  const b = doc.indexOf(marker(name, 'end'));
  if (a < 0 || b < a) throw new Error(`no block '${name}' (${marker(name, 'start')} … ${marker(name, 'end')})`);
  return doc.slice(a + marker(name, 'start').length, b).replace(/^\n/, '').replace(/\n$/, '');
}

/**
 * `doc` with every block's text replaced by `blocks[name]`. Throws on a block without markers, a
 * marker that appears twice, and a marker in the document that no renderer owns (a typo would
 * otherwise leave stale numbers unchecked).
 */
export function spliceBlocks(doc: string, blocks: Record<string, string>): string {
  const seen = new Map<string, number>();
  for (const m of doc.matchAll(MARKER)) {
    const k = `${m[1]}:${m[2]}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
    if (!(m[1]! in blocks)) throw new Error(`marker for unknown block '${m[1]}'`);
  }
  for (const [k, n] of seen) if (n > 1) throw new Error(`marker numbers:${k} appears ${n} times`);
  let out = doc;
  for (const [name, text] of Object.entries(blocks)) {
    blockText(out, name); // throws when missing
    const a = out.indexOf(marker(name, 'start')) + marker(name, 'start').length;
    const b = out.indexOf(marker(name, 'end'));
    out = `${out.slice(0, a)}\n${text}\n${out.slice(b)}`;
  }
  return out;
}

export function renderBlocks(renderers: BlockRenderers, files: ResultFiles): Record<string, string> {
  return Object.fromEntries(Object.entries(renderers).map(([name, render]) => [name, render(files)]));
}

export interface Drift { doc: string; block: string; line: number; committed: string; generated: string }

/** Blocks whose committed text differs from what the result files give, with the first differing line. */
export function findDrift(docs: Record<string, string>, files: ResultFiles): Drift[] {
  const out: Drift[] = [];
  for (const [doc, renderers] of Object.entries(DOCS)) {
    const text = docs[doc];
    if (text === undefined) throw new Error(`document ${doc} not given`);
    for (const [block, generated] of Object.entries(renderBlocks(renderers, files))) {
      const committed = blockText(text, block);
      if (committed === generated) continue;
      const c = committed.split('\n');
      const g = generated.split('\n');
      let i = 0;
      while (i < Math.max(c.length, g.length) && c[i] === g[i]) i++;
      out.push({ doc, block, line: i + 1, committed: c[i] ?? '(nothing)', generated: g[i] ?? '(nothing)' });
    }
  }
  return out;
}

export function driftMessage(drift: readonly Drift[]): string {
  return [
    `${drift.length} generated block(s) differ from bench/results/*.json — run \`npm run docs:numbers\` and commit:`,
    ...drift.map((d) => `  ${d.doc} [numbers:${d.block}] line ${d.line} of the block\n    committed: ${d.committed}\n    generated: ${d.generated}`),
  ].join('\n');
}

export function readDocs(root: string): Record<string, string> {
  return Object.fromEntries(Object.keys(DOCS).map((doc) => [doc, readFileSync(join(root, doc), 'utf8')]));
}

/** Writes the blocks into the documents (only files that change); with `check`, only reports. Exit code. */
export function main(root: string, check: boolean): number {
  const files = loadResultFiles(root);
  const docs = readDocs(root);
  if (check) {
    const drift = findDrift(docs, files);
    if (drift.length) console.error(driftMessage(drift));
    else console.log('README numbers match bench/results/');
    return drift.length ? 1 : 0;
  }
  // Everything is rendered before anything is written (no half-updated pair on an error), and each
  // document is re-read right before: others may be editing other parts of the same file.
  const renders = Object.entries(DOCS).map(([doc, renderers]) => [doc, renderBlocks(renderers, files)] as const);
  const nexts = renders.map(([doc, blocks]) => {
    const now = readFileSync(join(root, doc), 'utf8');
    return [doc, now, spliceBlocks(now, blocks)] as const;
  });
  for (const [doc, now, next] of nexts) {
    if (next === now) continue;
    writeFileSync(join(root, doc), next);
    console.log(`updated ${doc}`);
  }
  return 0;
}

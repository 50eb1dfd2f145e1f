/** Node-only: writes a run's JSON, markdown and HTML report next to each other. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { htmlReport, markdownReport } from './report';
import type { BenchResults } from './types';

export function writeResults(r: BenchResults, files: { json?: string; md?: string; html?: string }): string[] {
  const written: string[] = [];
  const put = (path: string | undefined, text: string) => {
    if (!path) return;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    written.push(path);
  };
  put(files.json, JSON.stringify(r, null, 2) + '\n');
  put(files.md, markdownReport(r));
  put(files.html, htmlReport(r));
  return written;
}

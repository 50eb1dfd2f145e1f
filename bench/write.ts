/** Node-only: writes a run's JSON, markdown and HTML report next to each other (atomically: temp file + rename). */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomicSync } from '../src/node/data_png';
import { combinedHtmlReport, combinedMarkdownReport, htmlReport, markdownReport } from './report';
import type { BenchResults } from './types';

type Files = { json?: string; md?: string; html?: string };

function put(written: string[], path: string | undefined, text: string): void {
  if (!path) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomicSync(path, text);
  written.push(path);
}

export function writeResults(r: BenchResults, files: Files): string[] {
  const written: string[] = [];
  put(written, files.json, JSON.stringify(r, null, 2) + '\n');
  put(written, files.md, markdownReport(r));
  put(written, files.html, htmlReport(r));
  return written;
}

/** Several hosts' runs as one markdown and one HTML report (the per-host JSON files hold the data). */
export function writeCombined(runs: readonly BenchResults[], files: Omit<Files, 'json'>): string[] {
  const written: string[] = [];
  put(written, files.md, combinedMarkdownReport(runs));
  put(written, files.html, combinedHtmlReport(runs));
  return written;
}

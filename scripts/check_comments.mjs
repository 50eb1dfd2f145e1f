// `npm run lint`, second half: comment lines stay within 120 columns (code lines are the
// formatter's business). Checks every tracked .ts / .mjs / .js file; prints file:line and exits 1
// on any longer comment line. `--fix` is not offered: a wrapped comment should be re-read.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const COMMENT = /^\s*(\/\/|\/\*|\*)/;
const files = execFileSync('git', ['ls-files', '*.ts', '*.mjs', '*.js'], { encoding: 'utf8' }).split('\n').filter(Boolean);
const long = [];
for (const file of files) {
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (COMMENT.test(line) && [...line].length > MAX) long.push(`${file}:${i + 1}: comment line of ${[...line].length} columns (at most ${MAX})`);
  });
}
if (long.length) {
  console.error(long.join('\n'));
  console.error(`${long.length} comment line(s) over ${MAX} columns: wrap them`);
  process.exitCode = 1;
} else console.log(`comments within ${MAX} columns in ${files.length} files`);

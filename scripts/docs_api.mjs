// Generates the API reference of `osteo`, `osteo/browser`, `osteo/engine` and `osteo/node` into docs/api/ with TypeDoc
// (typedoc.json). Fails when an exported class, function, interface, type or constant has no doc
// comment, or a {@link} does not resolve. `--check` validates without writing files.
import { execFileSync } from 'node:child_process';

const check = process.argv.includes('--check');
const bin = new URL('../node_modules/.bin/typedoc', import.meta.url).pathname;
execFileSync(bin, check ? ['--emit', 'none'] : [], { stdio: 'inherit' });
if (!check) console.log('wrote docs/api/index.html');

/** Help text generated from the command table and each command's option table. */
import { DATASET_KINDS, DATASET_SPEC_KEYS } from '../data/datasets';
import type { Command } from './command';
import type { OptionDef } from './options';

const WIDTH = 100;

/** Greedy word wrap with a hanging indent. */
export function wrap(text: string, indent: number, width = WIDTH): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.map((l) => ' '.repeat(indent) + l);
}

/** `-s, --name VALUE` as shown in help. */
export function optionSignature(name: string, d: OptionDef): string {
  return `${d.short ? `-${d.short}, ` : ''}--${name}${d.type === 'string' ? ` ${d.value ?? 'VALUE'}` : ''}`;
}

/** The default as help shows it, or '' (switches are off unless given). */
export function defaultText(d: OptionDef): string {
  if (d.defaultText !== undefined) return d.defaultText;
  if (d.default !== undefined) return d.default;
  return '';
}

function optionLines(name: string, d: OptionDef): string[] {
  const sig = `  ${optionSignature(name, d)}`;
  const def = defaultText(d);
  const text = `${d.description}${d.required ? ' (required)' : def ? ` (default: ${def})` : ''}`;
  const col = 28;
  const body = wrap(text, col);
  if (sig.length + 2 <= col) return [sig.padEnd(col) + body[0]!.trimStart(), ...body.slice(1)];
  return [sig, ...body];
}

/** `osteo CMD --help`. */
export function commandHelp(cmd: Command): string {
  const usage = cmd.usage.split('\n');
  const lines = [
    `osteo ${cmd.name} — ${cmd.summary}`,
    '',
    `usage: ${usage[0]}`,
    ...usage.slice(1).map((u) => `       ${u}`),
    '',
    'options:',
    ...Object.entries(cmd.options).flatMap(([n, d]) => optionLines(n, d)),
    `  ${'-h, --help'.padEnd(26)}show this help`,
  ];
  for (const s of cmd.sections ?? []) lines.push('', `${s.title}:`, ...s.lines.flatMap((l) => wrap(l, 2)));
  lines.push('', 'examples:');
  for (const e of cmd.examples) lines.push(`  ${e.command}`, ...wrap(e.what, 6));
  return lines.join('\n');
}

/** `osteo --help`. */
export function mainHelp(commands: readonly Command[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `osteo ${version} — WebGPU U-Net++/VGG19 for anatomical landmarks in X-rays`,
    '',
    'usage: osteo <command> [options]',
    '',
    'commands:',
    ...commands.flatMap((c) => {
      const body = wrap(c.summary, width + 4);
      return [`  ${c.name.padEnd(width)}  ${body[0]!.trimStart()}`, ...body.slice(1)];
    }),
    '',
    'osteo <command> --help (or osteo help <command>) describes its options, with defaults and examples.',
    'osteo --version prints the version. Errors print a stack trace with OSTEO_DEBUG=1.',
  ].join('\n');
}

/** The data-spec section shared by every command that reads a data set. */
export const DATA_SPEC_SECTION = {
  title: 'data specs (SPEC)',
  lines: [
    'KIND:PATH[?key=value&…], KIND one of isbi2015 (DIR of the ISBI 2015 cephalometric set), hand (DIR or all.csv of the Digital Hand Atlas), ' +
      'chest (Shenzhen labels .zip or DIR), points (an osteo points file: what osteo predict writes and the web app exports, docs/points-format.md), ' +
      'generic (labels .csv or .json: image,x1,y1,…[,mm_per_pixel]; an osteo points file too), ' +
      'landmarks (DIR/images/ID.* with DIR/annotations/ANNOTATOR/ID.txt of x,y lines: truth = mean of the annotators, their disagreement reported), synthetic (hand, head or chest; generated, no files).',
    ...DATASET_KINDS.map((k) => `keys of ${k}: ${DATASET_SPEC_KEYS[k].join(', ')}`),
    'landmarks: annotator=NAME (one annotator\'s points), mm=F (mm per pixel; else errors in px), names=isbi2015 or a comma list, test=N (a fixed seeded test split of N images, seed=S). ' +
      'Every file kind: heldout=F,S (split val = the images a run with --val-split F --seed S held out).',
    'SPEC+SPEC combines sets with the same K (ids become NAME/ID; each part keeps its splits and gets its own validation split).',
    'e.g. isbi2015:/data/ISBI2015?annotator=senior, hand:/data/dha?spacing=wrist, points:osteo-points.json?images=/data/xrays, generic:labels.csv?mm=0.1, landmarks:/data/hamedan?test=30&names=isbi2015, synthetic:hand?n=64&size=128&seed=1',
  ],
};

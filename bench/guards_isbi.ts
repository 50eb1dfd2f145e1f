/**
 * Do the guards flag the bad points? On the held-out validation images of a checkpoint's training
 * run (ISBI 2015: the 15 images of `--val-split 0.1 --seed 1`), and on mirrored, rotated and
 * inverted copies of them: error of flagged vs unflagged points, orientation choices, and the
 * errors with and without the guards.
 *
 * Honest calibration: the shape model is learnt from the training images' annotations; the
 * expected-error calibration and the orientation threshold used on held-out image i are learnt
 * on the other 14 validation images (leave-one-image-out), never on image i itself.
 *
 *   npx vite-node --config vitest.config.ts bench/guards_isbi.ts -- CKPT SPEC OUT_STEM
 * writes OUT_STEM.json and OUT_STEM.md. Resumable per image: the rows of every finished image are kept in
 * runs/<basename of OUT_STEM>.state.json; a rerun with the same checkpoint and spec skips those images.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { cpus, loadavg } from 'node:os';
import type { Point } from '../src/data/types';
import { orientationName, orientImage, toFile, toOriented, type Orientation } from '../src/landmarks/orientation';
import { mapPoints } from '../src/landmarks/preprocess';
import { acquireNodeEngine } from '../src/node/acquire_node';
import { loadCheckpoint } from '../src/node/checkpoint';
import { prepareDataSpec } from '../src/node/train_io';
import { learnGuards, originalSize, runSplit, shapeModelOf, validationPoints } from '../src/train/calibrate';
import { splitTrainValBySource, subset } from '../src/train/data';
import { predictorFromCheckpoint } from '../src/train/evaluate';
import { isWarningFlag, PredictionGuard, type GuardReport } from '../src/train/guards';

const [ckPath, spec, stem] = process.argv.slice(2).filter((a) => a !== '--');
if (!ckPath || !spec || !stem) throw new Error('usage: guards_isbi.ts CKPT SPEC OUT_STEM');
const ck = await loadCheckpoint(ckPath);
const refine = ck.refine?.settings;
const size = Math.max(ck.train.size, refine ? Math.ceil(refine.size / refine.crop / 1.5 / 32) * 32 : 0);
const data = prepareDataSpec(spec, { size, log: (l) => console.error(l) });
const { valSplit, seed } = runSplit(ck, {});
const split = splitTrainValBySource(data.set.ids ?? data.set.images.map((_, i) => String(i)), valSplit, seed, data.sources);
const train = subset(data.set, split.train);
const val = subset(data.set, split.val);
const engine = await acquireNodeEngine();
const p = predictorFromCheckpoint(engine, ck, { batch: 8 });
const shape = shapeModelOf(train);
const t0 = performance.now();
const vp = await validationPoints(p.trainer, val, shape);
const sides = val.images.map((_, i) => {
  const s = originalSize(val, i);
  return Math.max(s.width, s.height) * (vp.unit === 'mm' ? val.mmPerPixel[i]! : 1);
});
const twoStage = !!ck.refine;
const full = learnGuards(shape, vp, data.k, { twoStage, longerSides: sides });
console.error(`validation: ${val.images.length} images, score ${full.guards.calibration!.score}, spearman ${JSON.stringify(full.spearman)}, zLimit ${full.guards.shape!.zLimit.toFixed(2)}, orientation ${JSON.stringify(full.guards.orientation)}`);

const variants: { name: string; o: Orientation }[] = [
  { name: 'as given', o: { mirror: false, turns: 0, invert: false } },
  { name: 'mirrored', o: { mirror: true, turns: 0, invert: false } },
  { name: 'rotated 90°', o: { mirror: false, turns: 1, invert: false } },
  { name: 'rotated 180°', o: { mirror: false, turns: 2, invert: false } },
  { name: 'rotated 270°', o: { mirror: false, turns: 3, invert: false } },
  { name: 'inverted', o: { mirror: false, turns: 0, invert: true } },
];

function inverse(o: Orientation): Orientation {
  // mirror then turn t: undone by turning back (4 − t) then mirroring = mirror then turn t (a reflection is its own
  // inverse) when mirrored
  if (o.mirror) return o;
  return { mirror: false, turns: ((4 - o.turns) % 4) as 0 | 1 | 2 | 3, invert: o.invert };
}
// check the inverse on a point (guards against a wrong group algebra in this script)
for (const v of variants) {
  const q: Point = [3, 5];
  const there = toOriented(v.o, 40, 30, q);
  const ow = v.o.turns % 2 ? 30 : 40, oh = v.o.turns % 2 ? 40 : 30;
  const again = toOriented(inverse(v.o), ow, oh, there);
  if (Math.hypot(again[0] - q[0], again[1] - q[1]) > 1e-9) throw new Error(`inverse of ${v.name} is wrong`);
}

interface PointRow { image: string; variant: string; landmark: number; error: number; errorUnguarded: number; expected: number; flags: string[] }
interface ImageRow { image: string; variant: string; orientation: string; expected: string; mre: number; mreUnguarded: number; warnings: string[] }
const statePath = `runs/${basename(stem)}.state.json`;
interface State { model: string; spec: string; rows: PointRow[]; perImage: ImageRow[]; seconds: number }
const prior: State | undefined = existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : undefined;
const resumed = prior && prior.model === ckPath && prior.spec === spec ? prior : undefined;
const rows: PointRow[] = resumed?.rows ?? [];
const perImage: ImageRow[] = resumed?.perImage ?? [];
const priorSeconds = resumed?.seconds ?? 0;
if (resumed) console.error(`resuming from ${statePath}: ${new Set(perImage.map((q) => q.image)).size} images done`);
for (let i = 0; i < val.images.length; i++) {
  const id = val.ids?.[i] ?? String(i);
  // an image is done when all its variants are in the state (a run cut inside an image redoes that image)
  if (perImage.filter((q) => q.image === id).length === variants.length) continue;
  for (const arr of [rows, perImage] as { image: string }[][]) {
    for (let j = arr.length - 1; j >= 0; j--) if (arr[j]!.image === id) arr.splice(j, 1);
  }
  // leave image i out of the calibration (the shape model is the training annotations')
  const others = { points: vp.points.filter((q) => q.image !== i), unit: vp.unit, imageScores: vp.imageScores.filter((_, j) => j !== i) };
  const { guards } = learnGuards(shape, others, data.k, { twoStage, longerSides: sides.filter((_, j) => j !== i) });
  const img = val.images[i]!;
  const truth = mapPoints(val.toOriginal![i]!, val.points[i]!);
  const mm = val.mmPerPixel[i] ?? 1;
  for (const v of variants) {
    const shown = orientImage(v.o, img);
    const back = (pts: Point[]): Point[] => mapPoints(val.toOriginal![i]!, pts.map((q) => toFile(v.o, img.width, img.height, q)));
    const err = (pts: Point[]): number[] => back(pts).map((q, j) => Math.hypot(q[0] - truth[j]![0], q[1] - truth[j]![1]) * mm);
    p.trainer.guard = undefined;
    const plain = await p.trainer.predict([shown], 1, 0);
    const guard = new PredictionGuard(guards, { orientation: 'auto' });
    p.trainer.guard = guard;
    const g = await p.trainer.predict([shown], 1, 0);
    p.trainer.guard = undefined;
    const rep: GuardReport = g.guarded![0]!;
    const e = err(g.points[0]!), e0 = err(plain.points[0]!);
    e.forEach((x, j) => rows.push({ image: id, variant: v.name, landmark: j, error: x, errorUnguarded: e0[j]!, expected: rep.expectedErrorUnit?.[j] ?? NaN, flags: rep.flags[j]! }));
    // the orientation that undoes the variant (what the guard should choose): its inverse
    const expectedName = orientationName(inverse(v.o));
    const mre = e.reduce((a, b) => a + b, 0) / e.length, mre0 = e0.reduce((a, b) => a + b, 0) / e0.length;
    perImage.push({ image: id, variant: v.name, orientation: rep.orientation, expected: expectedName, mre: +mre.toFixed(3), mreUnguarded: +mre0.toFixed(3), warnings: rep.warnings });
    console.error(`${id} ${v.name}: orientation ${rep.orientation} (want ${expectedName}), MRE ${mre.toFixed(2)} (unguarded ${mre0.toFixed(2)}), flagged ${rep.flags.filter((f) => f.some(isWarningFlag)).length}`);
  }
  mkdirSync('runs', { recursive: true });
  const state: State = { model: ckPath, spec, rows, perImage, seconds: priorSeconds + (performance.now() - t0) / 1000 };
  writeFileSync(statePath, JSON.stringify(state));
  writeReport(); // after every image: a run cut short still leaves its table
}
p.dispose();
writeReport();
console.log(readFileSync(`${stem}.md`, 'utf8'));

/** Writes OUT_STEM.json and OUT_STEM.md from the rows so far. */
function writeReport(): void {
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    return { n: xs.length, mean: +mean.toFixed(3), median: +(s[Math.floor(s.length / 2)] ?? NaN).toFixed(3), over4: xs.filter((x) => x > 4).length };
  };
  const flagged = (r: PointRow) => r.flags.some((f) => f !== 'redecoded');
  const table = variants.map((v) => {
    const rs = rows.filter((r) => r.variant === v.name);
    const imgs = perImage.filter((q) => q.variant === v.name);
    const bad = rs.filter((r) => r.error > 4);
    return {
      variant: v.name,
      images: imgs.length,
      orientationRight: imgs.filter((q) => q.orientation === q.expected).length,
      mreUnguarded: stats(rs.map((r) => r.errorUnguarded)).mean,
      mreGuarded: stats(rs.map((r) => r.error)).mean,
      flagged: stats(rs.filter(flagged).map((r) => r.error)),
      unflagged: stats(rs.filter((r) => !flagged(r)).map((r) => r.error)),
      // of the points more than 4 mm off, the share flagged (recall); of the flagged, the share > 4 mm off (precision)
      recallOver4: bad.length ? +(bad.filter(flagged).length / bad.length).toFixed(3) : null,
      precisionOver4: rs.filter(flagged).length ? +(rs.filter(flagged).filter((r) => r.error > 4).length / rs.filter(flagged).length).toFixed(3) : null,
      redecoded: rs.filter((r) => r.flags.includes('redecoded')).length,
    };
  });
  const unit = vp.unit;
  const report = {
    model: ckPath, data: spec, unit, valSplit, seed, validationImages: val.images.length, validationIds: val.ids,
    calibration: { score: full.guards.calibration!.score, spearman: full.spearman, zLimit: full.guards.shape!.zLimit, flagAbove: full.guards.calibration!.flagAbove, orientation: full.guards.orientation },
    method: 'shape model from the training split annotations; calibration and orientation threshold for held-out image i learnt on the other validation images (leave-one-image-out); variants made from the working copies (pixel-exact flips / turns / negative)',
    caveat: 'the 15 images are the validation split the model\'s best epochs and the refinement\'s confidence threshold were chosen on (optimistic for the model, not for the flags); 15 images x 19 landmarks is a small sample',
    imagesDone: new Set(perImage.map((q) => q.image)).size, table, perImage, seconds: +(priorSeconds + (performance.now() - t0) / 1000).toFixed(0), resumed: !!resumed,
    device: engine.adapter.description || engine.adapter.architecture, note: `${cpus().length} CPU cores, load average ${loadavg()[0]!.toFixed(1)} at the end`,
  };
  writeFileSync(`${stem}.json`, `${JSON.stringify(report, null, 1)}\n`);
  const md = [
    `# Guards on held-out ISBI 2015 images (${ckPath})`,
    '',
    `${report.imagesDone} of the ${val.images.length} validation images of the model's own training run (\`--val-split ${valSplit} --seed ${seed}\`), each as given and mirrored / rotated / inverted; errors in ${unit}; a point is flagged when it is low-confidence (expected error > ${full.guards.calibration!.flagAbove} ${unit}), implausible or on an image with no convincing orientation. ${report.method}.`,
    '',
    `| variant | orientation right | MRE without guards | MRE with guards | flagged: n, mean, median error | unflagged: n, mean, median error | points > 4 ${unit} flagged | flagged that are > 4 ${unit} | re-decoded |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...table.map((t) => `| ${t.variant} | ${t.orientationRight}/${t.images} | ${t.mreUnguarded.toFixed(2)} | ${t.mreGuarded.toFixed(2)} | ${t.flagged.n}, ${t.flagged.mean.toFixed(2)}, ${t.flagged.median.toFixed(2)} | ${t.unflagged.n}, ${t.unflagged.mean.toFixed(2)}, ${t.unflagged.median.toFixed(2)} | ${t.recallOver4 === null ? 'none > 4' : `${(100 * t.recallOver4).toFixed(0)} %`} | ${t.precisionOver4 === null ? 'none flagged' : `${(100 * t.precisionOver4).toFixed(0)} %`} | ${t.redecoded} |`),
    '',
    `Calibration score: ${full.guards.calibration!.score} peak (Spearman with the error: ${Object.entries(full.spearman).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}); shape z limit ${full.guards.shape!.zLimit.toFixed(2)}.`,
    '',
    `Caveat: ${report.caveat}.`,
    '',
    `Made by \`npx vite-node --config vitest.config.ts bench/guards_isbi.ts -- ${ckPath} ${spec} ${stem}\` in ${report.seconds} s on ${report.device} (${report.note}).`,
    '',
  ].join('\n');
  writeFileSync(`${stem}.md`, md);
}

engine.destroy();
process.exit(0);

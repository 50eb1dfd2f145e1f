// Summary of the second-site decision (bench/site_decision.sh) as one JSON on stdout:
// both shipped models on both sites, the study's curves per arm, the training runs' times.
import { existsSync, readFileSync } from 'node:fs';

const read = (f) => (existsSync(f) && readFileSync(f, "utf8").trim() ? JSON.parse(readFileSync(f, "utf8")) : null);
const pick = (e) => e && { images: e.images, unit: e.unit, mre: e.overall.mre, std: e.overall.std, median: e.overall.median, max: e.overall.max, sdrPercent: e.overall.sdrPercent,
  perLandmark: e.perLandmark.map((l) => ({ name: l.name, mre: l.mre })), guards: e.guards ?? null };
const arms = read('runs/study-hamedan/arms.json');
const report = read('docs/examples/site-hamedan/report.json');
const reportTwo = read('docs/examples/site-hamedan/two-site-model/report.json');
const run = (dir) => {
  const m = read(`${dir}/metrics.json`);
  return m && { dir, init: m.init, epochs: m.epochs ?? m.history?.length, bestEpoch: m.bestEpoch ?? m.best?.epoch, best: m.bestMetric ?? m.best, seconds: m.seconds ?? (m.history ?? []).reduce((a, h) => a + (h.seconds ?? 0), 0), config: m.config && { size: m.config.size, lr: m.config.lr, epochs: m.config.epochs, loss: m.config.loss, stage: m.config.stage ?? 'coarse', data: m.config.data } };
};
// the fine-tuning options (bench/site_study_freeze.sh): the ISBI arm again with --freeze-bn / --freeze-encoder 2
const curve = (f) => {
  const c = read(f);
  return c && { bySize: c.bySize, seconds: c.rows.reduce((s, r) => s + r.seconds, 0), runs: c.rows.length };
};
const plainArm = arms?.arms.find((a) => a.init === 'weights/osteo-isbi2015-ceph.safetensors')?.curve;
const options = [
  { name: 'plain', flags: '', ...(plainArm ? { bySize: plainArm.bySize, seconds: plainArm.rows.reduce((s, r) => s + r.seconds, 0), runs: plainArm.rows.length } : {}) },
  { name: 'frozen BatchNorm', flags: '--freeze-bn', ...curve('runs/study-hamedan-freeze-bn/learning-curve.json') },
  { name: 'encoder blocks 1–2 frozen', flags: '--freeze-encoder 2', ...curve('runs/study-hamedan-freeze-enc2/learning-curve.json') },
].filter((o) => o.bySize);
console.log(JSON.stringify({
  what: 'Issue 23: the shipped ISBI 2015 model and the two-site model on both sites; the learning curves per initialisation on the second site (Hamedan). bench/site_decision.sh.',
  date: new Date().toISOString().slice(0, 10),
  machine: '2 CPU cores, SwiftShader (the CPU fallback), shared with other jobs while training',
  sites: {
    hamedan: 'landmarks:../shared/data/hamedan-ceph?test=30&names=isbi2015, split test: 30 fixed images never used for training or selection; truth = mean of the two annotators; px (no spacing)',
    isbi: 'isbi2015:../shared/data/isbi2015-ceph-train?heldout=0.1,1, split val: the 15 images both models held out (used to pick their best epochs); mm',
  },
  models: {
    isbi: { file: 'weights/osteo-isbi2015-ceph.safetensors', hamedan: pick(read('runs/site-eval/isbi-hamedan.json')), isbi: pick(read('runs/site-eval/isbi-isbi.json')) },
    twoSite: { file: 'weights/osteo-ceph-2site.safetensors', hamedan: pick(read('runs/site-eval/two-hamedan.json')), isbi: pick(read('runs/site-eval/two-isbi.json')),
      training: [run('runs/twosite-coarse'), run('runs/twosite-refine'), run('runs/lever-refine-longer')].filter(Boolean) },
  },
  annotators: arms?.annotators ?? null,
  study: arms && { target: arms.target, targetWhy: arms.targetWhy, budget: arms.budget, crossings: arms.crossings, notes: arms.notes,
    arms: arms.arms.map((a) => ({ name: a.name, init: a.init, status: a.status, reason: a.reason ?? null, bySize: a.curve?.bySize ?? null, fit: a.curve?.fit ? { a: a.curve.fit.a, b: a.curve.fit.b, c: a.curve.fit.c } : null,
      prediction: a.curve?.prediction ?? null, collection: a.curve?.collection ?? null,
      seconds: a.curve ? a.curve.rows.reduce((s, r) => s + r.seconds, 0) : 0 })) },
  fineTuning: options.length > 1 ? {
    what: 'The ISBI arm of the study (from the ISBI model) with each fine-tuning option, same recipe, budget, split and seeds; bench/site_study_freeze.sh',
    options,
  } : null,
  reportTwoSite: reportTwo && { verdict: reportTwo.verdict.sentence, decision: reportTwo.verdict.decision },
  report: report && { verdict: report.verdict.sentence, decision: report.verdict.decision, offsets: report.clinical.offsets && { mre: report.clinical.offsets.mre, spread: report.clinical.offsets.spread, systematicShare: report.clinical.offsets.systematicShare } },
}, null, 2));

// Issue 24 §1, the "longer schedules" lever (bench/lever_refine_longer.sh) as one JSON on stdout: the refiner's
// validation curve over the first 2 epochs (runs/twosite-refine) and the 4 more (runs/lever-refine-longer), and
// both pairs scored the same way (guards off) on the ISBI held-out and the Hamedan test images.
import { existsSync, readFileSync } from 'node:fs';

const read = (f) => (existsSync(f) && readFileSync(f, 'utf8').trim() ? JSON.parse(readFileSync(f, 'utf8')) : null);
const O = 'runs/lever-refine-longer';
const pick = (e) => e && { images: e.images, unit: e.unit, mre: e.overall.mre, median: e.overall.median, max: e.overall.max, sdrPercent: e.overall.sdrPercent,
  perLandmark: e.perLandmark.map((l) => ({ name: l.name, mre: l.mre })) };
const curve = (m, from) => (m?.history ?? []).map((h) => ({ epoch: from + h.epoch, valMre: h.valMre, unit: h.unit, lr: h.lr, seconds: h.seconds }));
const first = read('runs/twosite-refine/metrics.json');
const more = read(`${O}/metrics.json`);
console.log(JSON.stringify({
  what: "Issue 24 §1, longer schedules: the two-site pair's refiner (2 epochs, still improving) fine-tuned 4 more epochs; bench/lever_refine_longer.sh",
  date: new Date().toISOString().slice(0, 10),
  machine: '2 CPU cores, SwiftShader (the CPU fallback), shared with other jobs',
  validation: 'the combined set\'s own validation split (ISBI + Hamedan training images, --val-split 0.1 --seed 1), px, every crop refined',
  curve: [...curve(first, 0), ...curve(more, first?.history?.length ?? 0)],
  trainingSeconds: (more?.history ?? []).reduce((s, h) => s + (h.seconds ?? 0), 0),
  scored: 'osteo eval --no-guards (only the refiner differs); ISBI: the 15 held-out training-split images (mm); Hamedan: the 30 fixed test images (px, annotators\' mean)',
  pairs: Object.fromEntries(['base', 'longer'].map((k) => [k, {
    file: k === 'base' ? 'weights/osteo-ceph-2site.safetensors' : `${O}/checkpoint-best.safetensors`,
    isbi: pick(read(`${O}/eval-${k}-isbi.json`)), hamedan: pick(read(`${O}/eval-${k}-hamedan.json`)),
  }])),
}, null, 2));

// A user's program, type-checked under `strict` against the installed tarball's declarations and
// run: train 2 steps of a tiny model on an in-memory set, save, load (from an ArrayBuffer), predict;
// an Engine from `osteo` is the Engine `osteo/engine` takes; errors are told apart by class.
import { createEngine, createModel, DisposedError, loadModel, synthesize, train, type InMemoryDataset, type Prediction, type TrainProgress } from 'osteo';
import { TRAIN_DEFAULTS, type Engine } from 'osteo/engine';
import { folderStore } from 'osteo/node';

const WIDTHS = [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
const DECODER = [8, 8, 4, 4, 4];

const engine = await createEngine();
try {
  const hands = synthesize({ kind: 'hand', n: 4, size: 64, seed: 3 });
  const dataset: InMemoryDataset = {
    images: hands.images.map((im) => ({ data: Uint8Array.from(im.data, (v) => Math.round(v)), width: im.width, height: im.height })),
    points: hands.points,
    landmarkNames: hands.landmarkNames,
  };
  let steps = 0;
  const trained = await train(engine, dataset, { size: 32, epochs: 1, batch: 2, accum: 1, valSplit: 0, widths: WIDTHS, decoder: DECODER, lr: 1e-3 }, {
    onProgress: (p: TrainProgress) => {
      if (p.kind === 'step') steps++;
    },
  });
  const bytes: Uint8Array = await trained.model.save();
  trained.model.dispose();
  const buffer: ArrayBuffer = bytes.slice().buffer;
  const model = await loadModel(engine, buffer);
  const same: Engine = engine;
  const store = folderStore;
  const p: Prediction = await model.predict(dataset.images[0]!, { heatmaps: true });
  const fresh = createModel(engine, { landmarks: 3, size: 32, widths: WIDTHS, decoderChannels: DECODER });
  console.log(JSON.stringify({
    steps, epochs: trained.result.epochs, bytes: bytes.length, points: p.points.length, names: p.names.slice(0, 2), width: p.width,
    finite: p.points.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y)), heatmap: p.heatmaps?.data.length, size: model.size, fresh: fresh.landmarks,
  }));
  model[Symbol.dispose]();
  const disposed = await model.predict(dataset.images[0]!).then(() => 'no error', (e: unknown) => (e instanceof DisposedError ? 'DisposedError' : String(e)));
  fresh.dispose();
  console.log(JSON.stringify({ disposed, defaultSize: TRAIN_DEFAULTS.size, sameEngine: same === engine, store: typeof store }));
} finally {
  engine.dispose();
}

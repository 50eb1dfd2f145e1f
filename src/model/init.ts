/**
 * Initial weights as PyTorch would make them, so "from scratch" means the same thing here and in
 * smp: torchvision VGG convs kaiming-normal (fan_out, ReLU) with zero bias; smp decoder convs
 * kaiming-uniform (fan_in, ReLU); BN weight 1, bias 0, running stats (0, 1); the segmentation head
 * xavier-uniform with zero bias. Deterministic by seed.
 */
import { makeRng } from '../nn/random';
import type { UnetPlusPlus } from './unetpp';

export function initializeUnetPP(model: UnetPlusPlus, seed = 0, opts: { skip?: (name: string) => boolean } = {}): void {
  const rand = makeRng(seed * 7919 + 17);
  const r = () => rand.next();
  const normal = () => rand.normal();
  const ps = model.params;
  for (const [name, tensor] of ps.entries()) {
    if (opts.skip?.(name)) continue;
    const shape = tensor.shape;
    const size = tensor.size;
    const data = new Float32Array(size);
    if (shape.length === 4) {
      const [o, i, kh, kw] = shape as [number, number, number, number];
      const fanIn = i * kh * kw;
      const fanOut = o * kh * kw;
      if (name.startsWith('encoder.')) {
        const std = Math.sqrt(2 / fanOut);
        for (let k = 0; k < size; k++) data[k] = std * normal();
      } else if (name.startsWith('decoder.')) {
        const bound = Math.sqrt(6 / fanIn); // gain √2 · √(3/fan_in)
        for (let k = 0; k < size; k++) data[k] = (2 * r() - 1) * bound;
      } else {
        const bound = Math.sqrt(6 / (fanIn + fanOut));
        for (let k = 0; k < size; k++) data[k] = (2 * r() - 1) * bound;
      }
    } else if (/\.1\.weight$/.test(name)) {
      data.fill(1); // BN gamma
    }
    ps.load(name, data);
  }
  for (const name of ps.bufferNames) {
    if (opts.skip?.(name)) continue;
    const size = ps.buffer(name).size;
    ps.load(name, new Float32Array(size).fill(name.endsWith('running_var') ? 1 : 0));
  }
}

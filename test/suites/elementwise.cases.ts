import { relu, sigmoid } from '../../src/kernels/elementwise';
import { assertClose } from '../helpers/compare';
import { randn, prod } from '../helpers/random';
import { tfCpu } from '../helpers/tf';
import type { Case } from './case';

const SHAPES = [[1], [7], [2, 3, 5, 7], [3, 4, 8, 8], [1, 1, 33, 17]];

export const elementwiseCases: Case[] = [];
for (const [name, op, ref] of [
  ['relu', relu, 'relu'],
  ['sigmoid', sigmoid, 'sigmoid'],
] as const) {
  for (const shape of SHAPES) {
    elementwiseCases.push({
      name: `${name} ${shape.join('x')}`,
      async run(e) {
        const tf = await tfCpu();
        const data = randn(prod(shape), shape.length * 31 + prod(shape), 4);
        // include the tails where a naive sigmoid overflows
        if (data.length > 2) {
          data[0] = 90;
          data[1] = -90;
        }
        const x = e.tensor(data, shape);
        const y = op(x);
        const got = await y.read();
        const want = tf.tidy(() => tf[ref](tf.tensor(data)).dataSync() as Float32Array);
        assertClose(got, want, `${name} ${shape}`, { atol: 1e-6, rtol: 1e-5 });
        x.dispose();
        y.dispose();
      },
    });
  }
}

/**
 * The recipe arms' learning curves (docs/img/recipe-isbi-*.svg): validation MRE per epoch, one line
 * per arm with its points, a legend of the arms above the plot; a diverging arm would flatten the
 * rest, so the axis is clipped at 20 mm (and says so when a point lies above).
 */
import { lineChart } from '../src/util/svg_chart';
import type { RecipeArm } from './recipe_numbers';

export function recipeCurvesSvg(arms: readonly Pick<RecipeArm, 'name' | 'epochs'>[]): string {
  const mres = arms.flatMap((a) => a.epochs.map((e) => e.valMre)).filter(Number.isFinite);
  return lineChart({
    title: 'Validation MRE per epoch',
    xTitle: 'epoch',
    yTitle: 'validation MRE (mm)',
    yClip: Math.min(20, Math.max(1e-9, ...mres)),
    series: arms.map((a) => ({ label: a.name, points: a.epochs.map((e) => [e.epoch, e.valMre] as const), dots: true })),
  });
}

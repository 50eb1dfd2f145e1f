import type { Case } from './case';
import { autogradCases } from './autograd.cases';
import { batchnormCases } from './batchnorm.cases';
import { bnFoldCases } from './bn_fold.cases';
import { concatCases } from './concat.cases';
import { conv2dCases } from './conv2d.cases';
import { conv2dDxSmallCases } from './conv2d_dx_small.cases';
import { conv2dGradWeightCases } from './conv2d_grad_weight.cases';
import { conv2dSplitKCases } from './conv2d_splitk.cases';
import { elementwiseCases } from './elementwise.cases';
import { lossCases } from './loss.cases';
import { optimCases } from './optim.cases';
import { poolCases } from './pool.cases';
import { runtimeCases } from './runtime.cases';
import { upsampleCases } from './upsample.cases';

/**
 * Every host-agnostic suite: test/kernels/<suite>.node.test.ts runs each in Node, the Chromium
 * test runs them all in a page. Adding a suite: a `<name>.cases.ts` file, one line here, and a
 * one-line Node test file.
 */
export const ALL_SUITES: Record<string, Case[]> = {
  runtime: runtimeCases,
  elementwise: elementwiseCases,
  conv2d: conv2dCases,
  conv2d_dx_small: conv2dDxSmallCases,
  conv2d_grad_weight: conv2dGradWeightCases,
  conv2d_splitk: conv2dSplitKCases,
  pool: poolCases,
  upsample: upsampleCases,
  concat: concatCases,
  batchnorm: batchnormCases,
  bn_fold: bnFoldCases,
  loss: lossCases,
  optim: optimCases,
  autograd: autogradCases,
};

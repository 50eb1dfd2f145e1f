/**
 * `npm run test:alone`: the tests that measure how responsive the page stays (long tasks of its main thread, by wall
 * clock), run one file at a time after the rest of `npm test`. Run beside other test files, the CPU they take
 * stretches every task of the page and the measurement says more about the neighbours than about the app.
 */
import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config';

export default defineConfig({ ...base, test: { ...base.test, include: ['test/**/*.alone.test.ts'], exclude: configDefaults.exclude, maxWorkers: 1, minWorkers: 1 } });

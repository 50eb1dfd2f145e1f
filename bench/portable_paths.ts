/**
 * What a committed result file may say about where its inputs were: a run folder or checkpoint by
 * its name only, a data spec's absolute folder by its last two segments. The folders themselves
 * are scratch space of the machine that ran it; test/bench/results_paths.test.ts checks that no
 * file under bench/results/ names one.
 */
import { basename } from 'node:path';

/** A checkpoint or run folder by its file name (`/mnt/scratch/runs/coarse.safetensors` → `coarse.safetensors`). */
export const byName = (path: string): string => basename(path);

/** A data spec with an absolute folder by its last two segments (`isbi:/mnt/a/b/isbi2015` → `isbi:b/isbi2015`). */
export const dataSpecTail = (spec: string): string => spec.replace(/^(\w+:)\/(?:[^/?]+\/)*([^/?]+\/[^/?]+)/, '$1$2');

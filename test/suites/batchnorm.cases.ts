import type { Case } from './case';

export const batchnormCases: Case[] = [];

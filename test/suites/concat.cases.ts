import type { Case } from './case';

export const concatCases: Case[] = [];

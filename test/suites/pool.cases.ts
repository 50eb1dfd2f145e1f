import type { Case } from './case';

export const poolCases: Case[] = [];

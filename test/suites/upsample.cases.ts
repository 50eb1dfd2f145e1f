import type { Case } from './case';

export const upsampleCases: Case[] = [];

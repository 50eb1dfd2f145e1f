import type { Case } from './case';

export const optimCases: Case[] = [];

import type { Case } from './case';

export const conv2dCases: Case[] = [];

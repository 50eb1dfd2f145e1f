import type { Case } from './case';

export const conv2dGradWeightCases: Case[] = [];

import type { Case } from './case';

export const lossCases: Case[] = [];

/**
 * "Did you mean …?" for names a user typed (command-line flags, commands, data-spec keys).
 * Browser-safe: the CLI and the data-spec parser share it.
 */

/**
 * Optimal-string-alignment distance: Levenshtein plus the transposition of two neighbouring
 * characters as one edit (`trian` → `train` is 1, not 2), the commonest typo.
 */
export function editDistance(a: string, b: string): number {
  const m = a.length, n = b.length;
  // d[i][j] over three rolling rows (the transposition looks two rows back)
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = new Array<number>(n + 1);
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n]!;
}

/**
 * The candidate the user most likely meant: the closest one within about a third of the word's
 * length in edits (at least 1), else the only candidate the word is a prefix or an extension of;
 * undefined when nothing is close. Case-insensitive.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  if (!w) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best !== undefined && bestD <= Math.max(1, Math.floor(w.length / 3))) return best;
  const affix = candidates.filter((c) => {
    const l = c.toLowerCase();
    return l.startsWith(w) || (w.startsWith(l) && l.length >= 3);
  });
  return affix.length === 1 ? affix[0] : undefined;
}

/** ` (did you mean 'X'?)` or '' — `quote` formats the suggestion (e.g. adds `--`). */
export function didYouMean(word: string, candidates: readonly string[], quote: (s: string) => string = (s) => s): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean '${quote(c)}'?)`;
}

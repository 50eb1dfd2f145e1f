/**
 * A compact 5×7 bitmap font (browser-safe, no assets): digits, A–Z, a–z and the symbols that
 * figure captions need (MRE 3.2 ± 1.1 mm, 12%, (n = 19), →). Each glyph is a 5-wide cell of 9
 * rows: rows 0–6 are the cap height with the baseline under row 6, rows 7–8 hold descenders
 * (g j p q y , ;). Scaled by whole pixels (2×, 3×) for output; drawing with a colour is in draw.ts.
 *
 * Why a bitmap font and not a TrueType rasteriser such as pureimage (opentype.js + a .ttf read at
 * run time): overlays are drawn in Node and in the browser from the same code, and a font file to
 * ship, locate and load asynchronously is more moving parts than ~100 glyphs of 5×7 bits.
 */

export const GLYPH_WIDTH = 5;
/** Cell height including the 2 descender rows. */
export const GLYPH_HEIGHT = 9;
/** Height of capitals and digits (rows above the baseline). */
export const CAP_HEIGHT = 7;
/** Horizontal advance per character, in unscaled pixels (glyph + 1 column of spacing). */
export const ADVANCE = GLYPH_WIDTH + 1;

// Rows top to bottom, '#' = ink. Glyphs with fewer than 9 rows are padded with blank rows below.
const ROWS: Record<string, string> = {
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... ..... .##.. .##.. ..#.. .#...',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. .##.. ..#.. .#...',
  '-': '..... ..... ..... .###. ..... ..... .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '[': '.###. .#... .#... .#... .#... .#... .###.',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  '_': '..... ..... ..... ..... ..... ..... ..... #####',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....',
  '"': '.#.#. .#.#. .#.#. ..... ..... ..... .....',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#.',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  '±': '..#.. ..#.. ##### ..#.. ..#.. ..... #####',
  '×': '..... #...# .#.#. ..#.. .#.#. #...# .....',
  '≥': '.#... ..#.. ...#. ..#.. .#... ..... #####',
  '≤': '...#. ..#.. .#... ..#.. ...#. ..... #####',
  '°': '.##.. #..#. #..#. .##.. ..... ..... .....',
  'µ': '..... ..... #...# #...# #...# ##..# #.##. #.... #....',
  '→': '..... ..#.. ...#. ##### ...#. ..#.. .....',
  '…': '..... ..... ..... ..... ..... ..... #.#.#',
};

/** Each glyph as GLYPH_HEIGHT row bitmasks, bit 4 = leftmost column. */
const GLYPHS: ReadonlyMap<string, Uint8Array> = new Map(Object.entries(ROWS).map(([ch, rows]) => {
  const bits = new Uint8Array(GLYPH_HEIGHT);
  rows.split(' ').forEach((row, y) => {
    for (let x = 0; x < GLYPH_WIDTH; x++) if (row[x] === '#') bits[y]! |= 1 << (GLYPH_WIDTH - 1 - x);
  });
  return [ch, bits];
}));

/** The characters this font draws; anything else is drawn as '?'. */
export const FONT_CHARS: readonly string[] = [...GLYPHS.keys()];

export function hasGlyph(ch: string): boolean {
  return GLYPHS.has(ch);
}

/** Ink of one glyph at unscaled (x, y), x < GLYPH_WIDTH, y < GLYPH_HEIGHT. Unknown characters draw as '?'. */
export function glyphInk(ch: string, x: number, y: number): boolean {
  const g = GLYPHS.get(ch) ?? GLYPHS.get('?')!;
  return x >= 0 && x < GLYPH_WIDTH && y >= 0 && y < GLYPH_HEIGHT && ((g[y]! >> (GLYPH_WIDTH - 1 - x)) & 1) === 1;
}

/** Width in pixels of one line of text at the given scale (no trailing spacing column). */
export function textWidth(text: string, scale = 1): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * ADVANCE - 1) * scale;
}

/** Height in pixels of one line of text, descenders included. */
export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/**
 * One line of text as a coverage mask (1 = ink), `textWidth × textHeight` pixels, each font pixel
 * a scale×scale block. Iterates code points, so '±' and '→' count as one character.
 */
export function textMask(text: string, scale = 1): { width: number; height: number; mask: Uint8Array } {
  const chars = [...text];
  const width = textWidth(text, scale), height = textHeight(scale);
  const mask = new Uint8Array(width * height);
  chars.forEach((ch, i) => {
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!glyphInk(ch, gx, gy)) continue;
        const x0 = (i * ADVANCE + gx) * scale, y0 = gy * scale;
        for (let dy = 0; dy < scale; dy++) mask.fill(1, (y0 + dy) * width + x0, (y0 + dy) * width + x0 + scale);
      }
    }
  });
  return { width, height, mask };
}

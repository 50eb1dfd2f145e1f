/**
 * Synthetic X-ray-like images with known landmarks (browser-safe, deterministic by seed).
 *
 * Model: each structure adds a projected path length to an attenuation map, as an X-ray does.
 * Bones are cylinders/ellipsoids with a dense cortical shell and a lighter marrow core (so their
 * projections have bright rims), soft tissue is a low-density body, air (lungs) subtracts. The
 * displayed brightness is 1 - exp(-mu) (bone bright, air dark), then texture (value noise on bone
 * and tissue), blur, contrast/gamma/brightness, Gaussian noise and 8-bit quantisation. Each image
 * has its own anatomy (bone lengths, widths, angles) and pose (rotation, scale, shift). Landmarks
 * sit on the drawn shapes: joint centres between bone ends, bone tips, carpal centres, rim points
 * (hand, head), lung-outline corners (chest).
 */
import { makeRng, mixSeed, type Rng } from '../nn/random';
import type { GreyImage, LandmarkDataset, Point } from './types';

export type SyntheticKind = 'hand' | 'head' | 'chest';

/** What `synthesize` draws: kind, count, size, seed and pose variation. */
export interface SynthOptions {
  kind: SyntheticKind;
  n: number;
  /** Square image side in pixels. */
  size: number;
  seed: number;
  /** Pose variation: max rotation in degrees (default 12), scale range, shift as a fraction of size. */
  rotationDeg?: number;
  scaleRange?: [number, number];
  shift?: number;
  /** Called after each image (done, total): long syntheses show progress. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Bounds of a synthetic set (images live in memory as Float32): n images of size x size pixels.
 * `synthetic:hand?n=100000000` grew memory silently; `size=200000` failed with a bare RangeError.
 */
export const SYNTH_LIMITS = { maxN: 100_000, minSize: 16, maxSize: 4096, maxPixels: 2 ** 29 } as const;

/** Checks n and size against SYNTH_LIMITS; the RangeError names the option (`n=`, `size=`). */
export function checkSynthBounds(n: number, size: number): void {
  const L = SYNTH_LIMITS;
  if (!(Number.isInteger(n) && n >= 0 && n <= L.maxN)) throw new RangeError(`synthetic data: n=${n} must be an integer from 0 to ${L.maxN}`);
  if (!(Number.isInteger(size) && size >= L.minSize && size <= L.maxSize)) throw new RangeError(`synthetic data: size=${size} must be an integer from ${L.minSize} to ${L.maxSize}`);
  if (n * size * size > L.maxPixels) {
    throw new RangeError(`synthetic data: n=${n} images of size=${size} are ${((n * size * size * 4) / 2 ** 30).toFixed(1)} GiB in memory, past the ${(L.maxPixels * 4) / 2 ** 30} GiB limit (lower n or size)`);
  }
}

export interface SyntheticSet {
  kind: SyntheticKind;
  size: number;
  k: number;
  landmarkNames: string[];
  /** True for landmarks that lie on bone (hand, head); the chest's lung corners are not. */
  onBone: boolean[];
  images: GreyImage[];
  points: Point[][];
  /** mm per pixel of each image (hand: by the 50 mm wrist rule; head: 200 mm per template unit); chest: none. */
  mmPerPixel: (number | undefined)[];
}

// ------------------------------------------------------------------------------------ rendering

/** Projected path through a cylinder of radius r with a marrow core rin, normalised by r. */
function cylProfile(d2: number, r: number, rin: number, rhoC: number, rhoM: number): number {
  const r2 = r * r;
  if (d2 >= r2) return 0;
  const lo = Math.sqrt(r2 - d2);
  const ri2 = rin * rin;
  const li = d2 < ri2 ? Math.sqrt(ri2 - d2) : 0;
  return (rhoC * (lo - li) + rhoM * li) / r;
}

class Canvas {
  readonly soft: Float32Array;
  readonly bone: Float32Array;
  constructor(readonly size: number) {
    this.soft = new Float32Array(size * size);
    this.bone = new Float32Array(size * size);
  }

  private box(x0: number, y0: number, x1: number, y1: number): [number, number, number, number] {
    const s = this.size;
    return [Math.max(0, Math.floor(x0)), Math.max(0, Math.floor(y0)), Math.min(s - 1, Math.ceil(x1)), Math.min(s - 1, Math.ceil(y1))];
  }

  /** Capsule (segment a–b, radius r): bone with a cortical rim when rimFrac > 0. */
  capsule(buf: Float32Array, a: Point, b: Point, r: number, rho: number, rimFrac = 0, marrow = 0.5): void {
    if (r <= 0.05) return;
    const [x0, y0, x1, y1] = this.box(Math.min(a[0], b[0]) - r, Math.min(a[1], b[1]) - r, Math.max(a[0], b[0]) + r, Math.max(a[1], b[1]) + r);
    const dx = b[0] - a[0], dy = b[1] - a[1];
    const len2 = dx * dx + dy * dy || 1e-12;
    const rin = r * (1 - rimFrac);
    const s = this.size;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = x - a[0], py = y - a[1];
        let t = (px * dx + py * dy) / len2;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const ex = px - t * dx, ey = py - t * dy;
        const v = cylProfile(ex * ex + ey * ey, r, rin, rho, rho * marrow);
        if (v !== 0) buf[y * s + x] += v;
      }
    }
  }

  /** Ellipsoid (centre c, semi-axes ax, ay, angle): projected, dimensionless (peak about 1 * rho). */
  ellipsoid(buf: Float32Array, c: Point, ax: number, ay: number, ang: number, rho: number, rimFrac = 0, marrow = 0.5): void {
    if (ax <= 0.05 || ay <= 0.05) return;
    const R = Math.max(ax, ay);
    const [x0, y0, x1, y1] = this.box(c[0] - R, c[1] - R, c[0] + R, c[1] + R);
    const co = Math.cos(ang), si = Math.sin(ang);
    const s = this.size;
    const rin = 1 - rimFrac;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = x - c[0], py = y - c[1];
        const u = (co * px + si * py) / ax, w = (-si * px + co * py) / ay;
        const v = cylProfile(u * u + w * w, 1, rin, rho, rho * marrow);
        if (v !== 0) buf[y * s + x] += v;
      }
    }
  }

  /** Elliptical shell of thickness t (skull vault, orbit rim, ear canal). */
  shell(buf: Float32Array, c: Point, ax: number, ay: number, ang: number, t: number, rho: number): void {
    const R = Math.max(ax, ay);
    const [x0, y0, x1, y1] = this.box(c[0] - R, c[1] - R, c[0] + R, c[1] + R);
    const co = Math.cos(ang), si = Math.sin(ang);
    const s = this.size;
    const bx = Math.max(ax - t, 0.01), by = Math.max(ay - t, 0.01);
    const norm = rho / Math.sqrt(Math.max(R * t, 1e-6));
    const mr = (ax + ay) / 2, mi = (bx + by) / 2;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = x - c[0], py = y - c[1];
        const u0 = co * px + si * py, w0 = -si * px + co * py;
        const d1 = (u0 / ax) ** 2 + (w0 / ay) ** 2;
        if (d1 >= 1) continue;
        const d2 = (u0 / bx) ** 2 + (w0 / by) ** 2;
        const l = mr * Math.sqrt(1 - d1) - (d2 < 1 ? mi * Math.sqrt(1 - d2) : 0);
        buf[y * s + x] += norm * l;
      }
    }
  }

  /** Filled polygon with a soft ramp `ramp` pixels deep inside its outline (soft tissue or, with rho < 0, air). */
  polygon(buf: Float32Array, pts: Point[], rho: number, ramp: number): void {
    let xa = Infinity, ya = Infinity, xb = -Infinity, yb = -Infinity;
    for (const p of pts) { xa = Math.min(xa, p[0]); ya = Math.min(ya, p[1]); xb = Math.max(xb, p[0]); yb = Math.max(yb, p[1]); }
    const [x0, y0, x1, y1] = this.box(xa, ya, xb, yb);
    const s = this.size, n = pts.length;
    const X = new Float64Array(n), Y = new Float64Array(n), EX = new Float64Array(n), EY = new Float64Array(n), IL = new Float64Array(n);
    for (let i = 0, j = n - 1; i < n; j = i++) {
      X[i] = pts[i]![0]; Y[i] = pts[i]![1];
      EX[i] = pts[j]![0] - X[i]!; EY[i] = pts[j]![1] - Y[i]!;
      IL[i] = 1 / (EX[i]! * EX[i]! + EY[i]! * EY[i]! || 1e-12);
    }
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        let inside = false;
        let dmin = Infinity;
        for (let i = 0; i < n; i++) {
          const xi = X[i]!, yi = Y[i]!, ex = EX[i]!, ey = EY[i]!;
          const yj = yi + ey;
          if (yi > y !== yj > y && x < (ex * (y - yi)) / ey + xi) inside = !inside;
          let t = ((x - xi) * ex + (y - yi) * ey) * IL[i]!;
          t = t < 0 ? 0 : t > 1 ? 1 : t;
          const dx = x - xi - t * ex, dy = y - yi - t * ey;
          const d2 = dx * dx + dy * dy;
          if (d2 < dmin) dmin = d2;
        }
        if (!inside) continue;
        const q = Math.min(1, Math.sqrt(dmin) / ramp);
        buf[y * s + x] += rho * Math.sqrt(q * (2 - q));
      }
    }
  }
}

/** Smooth value noise in [-1, 1] on a `cells` x `cells` lattice. */
function valueNoise(size: number, cells: number, rng: Rng): Float32Array {
  const g = cells + 1;
  const lat = new Float32Array(g * g);
  for (let i = 0; i < lat.length; i++) lat[i] = rng.uniform(-1, 1);
  const out = new Float32Array(size * size);
  const f = cells / size;
  const xs = new Int32Array(size), ws = new Float32Array(size);
  for (let x = 0; x < size; x++) {
    const u = (x + 0.5) * f;
    const i = Math.min(cells - 1, Math.floor(u));
    const t = u - i;
    xs[x] = i; ws[x] = t * t * (3 - 2 * t);
  }
  for (let y = 0; y < size; y++) {
    const j = xs[y]!, ty = ws[y]!;
    for (let x = 0; x < size; x++) {
      const i = xs[x]!, tx = ws[x]!;
      const a = lat[j * g + i]!, b = lat[j * g + i + 1]!, c = lat[(j + 1) * g + i]!, d = lat[(j + 1) * g + i + 1]!;
      out[y * size + x] = (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }
  }
  return out;
}

/** In-place separable [1 2 1]/4 blur with clamped borders. */
function blur121(img: Float32Array, size: number): void {
  const tmp = new Float32Array(size);
  for (let y = 0; y < size; y++) {
    const o = y * size;
    for (let x = 0; x < size; x++) tmp[x] = 0.25 * img[o + Math.max(0, x - 1)]! + 0.5 * img[o + x]! + 0.25 * img[o + Math.min(size - 1, x + 1)]!;
    img.set(tmp, o);
  }
  for (let x = 0; x < size; x++) {
    for (let y = 0; y < size; y++) tmp[y] = 0.25 * img[Math.max(0, y - 1) * size + x]! + 0.5 * img[y * size + x]! + 0.25 * img[Math.min(size - 1, y + 1) * size + x]!;
    for (let y = 0; y < size; y++) img[y * size + x] = tmp[y]!;
  }
}

// --------------------------------------------------------------------------------------- pose

/** Canonical [0,1]² template coordinates → pixels, through rotation, scale and shift about the centre. */
interface Pose { map(q: Point): Point; len(u: number): number; angle: number }

function makePose(size: number, rot: number, scale: number, sx: number, sy: number, centre: Point): Pose {
  const c = Math.cos(rot), s = Math.sin(rot);
  return {
    map: ([u, v]) => {
      const x = (u - centre[0]) * size * scale, y = (v - centre[1]) * size * scale;
      return [size / 2 - 0.5 + c * x - s * y + sx, size / 2 - 0.5 + s * x + c * y + sy];
    },
    len: (u) => u * size * scale,
    angle: rot,
  };
}

// ---------------------------------------------------------------------------------- anatomies

interface Anatomy {
  /** Landmarks in template coordinates. */
  points: Point[];
  draw(cv: Canvas, pose: Pose, rng: Rng): void;
}

const add = (a: Point, b: Point, t = 1): Point => [a[0] + t * b[0], a[1] + t * b[1]];
const lerp = (a: Point, b: Point, t: number): Point => [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
const dirOf = (deg: number): Point => [Math.sin((deg * Math.PI) / 180), -Math.cos((deg * Math.PI) / 180)];

export const HAND_SYNTH_LANDMARKS = [
  'ulnar styloid', 'ulna distal centre', 'radius ulnar corner', 'radius distal centre', 'radial styloid',
  'scaphoid', 'lunate', 'triquetrum', 'pisiform', 'trapezium', 'trapezoid', 'capitate', 'hamate',
  'thumb CMC', 'thumb MCP', 'thumb IP', 'thumb tip',
  ...['index', 'middle', 'ring', 'little'].flatMap((f) => [`${f} CMC`, `${f} MCP`, `${f} PIP`, `${f} DIP`, `${f} tip`]),
];

function handAnatomy(rng: Rng): Anatomy {
  const j = (s: number) => 1 + rng.uniform(-s, s);
  const pts: Point[] = [];
  const wristY = 0.8 + rng.uniform(-0.01, 0.01);
  // Forearm: ulna (little-finger side, image left) and radius (thumb side, image right).
  const ulnaEnd: Point = [0.42 * j(0.02), wristY + 0.012];
  const radEnd: Point = [0.565 * j(0.02), wristY];
  const rU = 0.026 * j(0.08), rR = 0.042 * j(0.08);
  const dU = dirOf(rng.uniform(-3, 3)), dR = dirOf(rng.uniform(-3, 3));
  const ulnaTip = add(ulnaEnd, dU, -rU * 0.3);
  pts.push(add(ulnaTip, [-rU * 0.55, 0]), ulnaTip, add(radEnd, [-rR * 0.6, 0]), radEnd, add(radEnd, [rR * 1.35, 0.004]));
  // Carpals: proximal row then distal row, thumb side first within each named order.
  const cy1 = wristY - 0.045, cy2 = wristY - 0.09;
  const carpals: { c: Point; ax: number; ay: number }[] = [
    { c: [0.575, cy1], ax: 0.03, ay: 0.022 }, // scaphoid
    { c: [0.515, cy1 + 0.004], ax: 0.024, ay: 0.021 }, // lunate
    { c: [0.46, cy1 + 0.002], ax: 0.021, ay: 0.02 }, // triquetrum
    { c: [0.425, cy1 + 0.02], ax: 0.014, ay: 0.013 }, // pisiform
    { c: [0.61, cy2 + 0.008], ax: 0.022, ay: 0.02 }, // trapezium
    { c: [0.565, cy2], ax: 0.018, ay: 0.019 }, // trapezoid
    { c: [0.515, cy2 + 0.004], ax: 0.024, ay: 0.028 }, // capitate
    { c: [0.46, cy2 + 0.006], ax: 0.024, ay: 0.026 }, // hamate
  ].map((b) => ({ c: [b.c[0] + rng.uniform(-0.004, 0.004), b.c[1] + rng.uniform(-0.004, 0.004)] as Point, ax: b.ax * j(0.1), ay: b.ay * j(0.1) }));
  for (const b of carpals) pts.push(b.c);
  // Digit rays: thumb (image right) to little finger (left).
  const rays = [
    { base: [0.61, cy2 - 0.025], ang: 38, lens: [0.1, 0.085, 0, 0.06], r: 0.017 },
    { base: [0.565, cy2 - 0.03], ang: 9, lens: [0.16, 0.1, 0.062, 0.045], r: 0.0145 },
    { base: [0.515, cy2 - 0.035], ang: 1, lens: [0.16, 0.11, 0.072, 0.048], r: 0.015 },
    { base: [0.465, cy2 - 0.03], ang: -8, lens: [0.148, 0.102, 0.066, 0.045], r: 0.0138 },
    { base: [0.42, cy2 - 0.022], ang: -18, lens: [0.135, 0.083, 0.05, 0.04], r: 0.0125 },
  ];
  const bones: { a: Point; b: Point; r: number }[] = [];
  const softFingers: { a: Point; b: Point; r: number }[] = [];
  const scale = j(0.06);
  for (const ray of rays) {
    let ang = ray.ang + rng.uniform(-4, 4);
    let p: Point = [ray.base[0]! + rng.uniform(-0.004, 0.004), ray.base[1]! + rng.uniform(-0.004, 0.004)];
    const r0 = ray.r * j(0.08);
    const joints: Point[] = [p];
    const radii: number[] = [];
    ray.lens.forEach((L, i) => {
      if (L === 0) return;
      const d = dirOf(ang);
      const q = add(p, d, L * scale * j(0.05));
      joints.push(q);
      radii.push(r0 * [1.05, 0.95, 0.82, 0.7][i]!);
      p = q;
      ang += rng.uniform(-3, 3) + (i > 0 ? ray.ang * 0.08 : 0);
    });
    for (const q of joints) pts.push(q);
    for (let i = 0; i + 1 < joints.length; i++) {
      const a = joints[i]!, b = joints[i + 1]!, r = radii[i]!;
      const L = Math.hypot(b[0] - a[0], b[1] - a[1]);
      const d: Point = [(b[0] - a[0]) / L, (b[1] - a[1]) / L];
      const gap = 0.16 * r;
      const last = i + 2 === joints.length;
      // Capsule ends are round: the segment stops r (+ half a joint gap) short of each joint; the tip bone ends at the
      // tip.
      bones.push({ a: add(a, d, r + gap), b: add(b, d, last ? -r * 0.9 : -(r + gap)), r });
    }
    softFingers.push({ a: joints[1]!, b: joints[joints.length - 1]!, r: r0 * 2.3 });
  }
  return {
    points: pts,
    draw(cv, pose, rg) {
      const P = pose.map, Ln = pose.len;
      const st = 0.38 * (1 + rg.uniform(-0.15, 0.15));
      // Soft tissue: forearm, palm, fingers.
      cv.capsule(cv.soft, P([0.5, 1.25]), P([0.5, wristY - 0.02]), Ln(0.14), st);
      const palm: Point[] = [[0.37, wristY + 0.01], [0.66, wristY + 0.01], [0.7, cy2 - 0.04], [0.63, cy2 - 0.16], [0.55, cy2 - 0.21], [0.44, cy2 - 0.2], [0.375, cy2 - 0.16], [0.36, cy2]];
      cv.polygon(cv.soft, palm.map(P), st * 1.6, Ln(0.06));
      for (const f of softFingers) cv.capsule(cv.soft, P(f.a), P(f.b), Ln(f.r), st * 0.8);
      // Bones.
      const rho = 1.25 * (1 + rg.uniform(-0.1, 0.1));
      cv.capsule(cv.bone, P([ulnaEnd[0] - 0.01, 1.3]), P(add(ulnaEnd, dU, rU * 0.0)), Ln(rU), rho, 0.3);
      cv.capsule(cv.bone, P([radEnd[0] + 0.005, 1.3]), P(radEnd), Ln(rR), rho, 0.3);
      cv.ellipsoid(cv.bone, P(add(radEnd, [0.006, 0.012])), Ln(rR * 1.45), Ln(rR * 0.75), pose.angle, rho * 0.9, 0.3); // distal radius flare
      for (const b of carpals) cv.ellipsoid(cv.bone, P(b.c), Ln(b.ax), Ln(b.ay), pose.angle + rg.uniform(-0.3, 0.3), rho * 0.85, 0.3);
      for (const b of bones) cv.capsule(cv.bone, P(b.a), P(b.b), Ln(b.r), rho, 0.35);
    },
  };
}

export const HEAD_SYNTH_LANDMARKS = [
  'S', 'N', 'Or', 'Po', 'A', 'B', 'Pog', 'Me', 'Gn', 'Go', 'L1 tip', 'U1 tip', 'UL', 'LL', 'Sn',
  'soft-tissue Pog', 'PNS', 'ANS', 'Ar',
];
const HEAD_ON_BONE = [false, true, true, true, true, true, true, true, true, true, true, true, false, false, false, false, true, true, true];

/** Lateral cephalogram facing right; template built in ISBI-like pixel units (1 unit = 1/2150). */
function headAnatomy(rng: Rng): Anatomy {
  const U = (x: number, y: number): Point => [(x - 60) / 2150, (y - 260) / 2150];
  const J = (s: number) => rng.uniform(-s, s);
  const jaw: Point = [J(25), J(25)]; // mandible offset (ISBI px)
  const face = 1 + J(0.05); // lower-face height
  const F = (x: number, y: number): Point => U(x, 1000 + (y - 1000) * face);
  const M = (x: number, y: number): Point => F(x + jaw[0], y + jaw[1]);
  const S = U(835 + J(20), 996 + J(20));
  const cranC = U(880 + J(20), 930 + J(20));
  const cranA = (600 + J(25)) / 2150, cranB = (640 + J(25)) / 2150;
  const nAng = -0.08 + J(0.05);
  const N: Point = [cranC[0] + cranA * Math.cos(nAng) * 0.985, cranC[1] + cranB * Math.sin(nAng) * 0.985];
  const orbC = U(1285 + J(15), 1175 + J(15));
  const orbR = 110 / 2150;
  const Or: Point = [orbC[0], orbC[1] + orbR * 0.97];
  const earC = U(604 + J(15), 1275 + J(15));
  const earR = 46 / 2150;
  const Po: Point = [earC[0], earC[1] - earR * 0.93];
  const PNS = F(944 + J(20), 1506 + J(15));
  const ANS = F(1436 + J(20), 1569 + J(15));
  const A = F(1375 + J(15), 1654 + J(15));
  const U1root = F(1365, 1650), U1 = F(1452 + J(15), 1864 + J(15));
  const L1root = M(1320, 2060), L1 = M(1458 + J(15), 1872 + J(15));
  const symC = M(1318, 2150), symA = 88 / 2150, symB = 135 / 2150, symAng = 0.35 + J(0.06);
  const onSym = (deg: number, f = 0.94): Point => {
    const t = (deg * Math.PI) / 180;
    const u = symA * Math.cos(t) * f, v = symB * Math.sin(t) * f;
    return [symC[0] + u * Math.cos(symAng) - v * Math.sin(symAng), symC[1] + u * Math.sin(symAng) + v * Math.cos(symAng)];
  };
  const B = onSym(-20), Pog = onSym(15), Gn = onSym(50), Me = onSym(80);
  const Go = M(700 + J(20), 1805 + J(20));
  const Ar = U(668 + J(12), 1345 + J(12));
  const Sn = F(1515, 1622), UL = F(1590, 1752), LL = M(1572, 2012), sPog = M(1392, 2305);
  const points: Point[] = [S, N, Or, Po, A, B, Pog, Me, Gn, Go, L1, U1, UL, LL, Sn, sPog, PNS, ANS, Ar];
  return {
    points,
    draw(cv, pose, rg) {
      const P = pose.map, Ln = pose.len, a = pose.angle;
      const st = 0.42 * (1 + rg.uniform(-0.12, 0.12));
      const rho = 1.1 * (1 + rg.uniform(-0.1, 0.1));
      // Soft tissue: head, face profile, nose, lips, chin, neck.
      cv.ellipsoid(cv.soft, P(U(900, 1250)), Ln(720 / 2150), Ln(980 / 2150), a, st);
      cv.polygon(cv.soft, [U(1300, 950), U(1520, 1000), F(1660, 1450), Sn, UL, F(1540, 1880), LL, sPog, M(1250, 2400), U(700, 2400)].map(P), st * 1.4, Ln(0.04));
      cv.capsule(cv.soft, P(U(650, 1900)), P(U(600, 2700)), Ln(330 / 2150), st);
      // Skull vault, anterior cranial base, sella, orbit, ear rod.
      cv.shell(cv.bone, P(cranC), Ln(cranA), Ln(cranB), a, Ln(50 / 2150), rho * 0.55);
      cv.capsule(cv.bone, P(Ar), P(U(760, 1120)), Ln(40 / 2150), rho * 0.6, 0.3);
      cv.capsule(cv.bone, P(U(900, 1060)), P(N), Ln(30 / 2150), rho * 0.55, 0.3);
      cv.shell(cv.bone, P(S), Ln(55 / 2150), Ln(48 / 2150), a, Ln(16 / 2150), rho * 0.9);
      cv.ellipsoid(cv.bone, P(U(835, 1110)), Ln(120 / 2150), Ln(55 / 2150), a, rho * 0.5, 0.3);
      cv.shell(cv.bone, P(orbC), Ln(orbR), Ln(orbR * 0.92), a, Ln(20 / 2150), rho * 0.7);
      cv.shell(cv.bone, P(earC), Ln(earR), Ln(earR), a, Ln(14 / 2150), rho);
      // Maxilla, palate, upper incisor.
      cv.ellipsoid(cv.bone, P(F(1190, 1560)), Ln(260 / 2150), Ln(110 / 2150), a + 0.1, rho * 0.45, 0.2);
      cv.capsule(cv.bone, P(PNS), P(ANS), Ln(24 / 2150), rho * 0.8, 0.3);
      cv.capsule(cv.bone, P(ANS), P(A), Ln(22 / 2150), rho * 0.6, 0.3);
      cv.capsule(cv.bone, P(A), P(F(1400, 1760)), Ln(26 / 2150), rho * 0.6, 0.3);
      cv.capsule(cv.bone, P(U1root), P(lerp(U1root, U1, 0.93)), Ln(24 / 2150), rho * 1.2, 0.35);
      // Mandible: ramus, body, symphysis, lower incisor.
      cv.capsule(cv.bone, P(lerp(Ar, Go, 0.04)), P(Go), Ln(62 / 2150), rho * 0.7, 0.3);
      cv.capsule(cv.bone, P(Go), P(M(1020, 2080)), Ln(70 / 2150), rho * 0.7, 0.3);
      cv.capsule(cv.bone, P(M(1020, 2080)), P(lerp(symC, Me, 0.5)), Ln(66 / 2150), rho * 0.7, 0.3);
      cv.ellipsoid(cv.bone, P(symC), Ln(symA), Ln(symB), a + symAng, rho * 0.95, 0.3);
      cv.capsule(cv.bone, P(L1root), P(lerp(L1root, L1, 0.93)), Ln(21 / 2150), rho * 1.2, 0.35);
      // Cervical vertebrae.
      for (let i = 0; i < 4; i++) cv.ellipsoid(cv.bone, P(U(520 - 15 * i, 1650 + 190 * i)), Ln(70 / 2150), Ln(80 / 2150), a, rho * 0.7, 0.3);
    },
  };
}

export const CHEST_SYNTH_LANDMARKS = [
  'right apex', 'right costophrenic angle', 'right cardiophrenic point',
  'left apex', 'left costophrenic angle', 'left cardiophrenic point',
];

/** PA chest: patient's right on the image left; lungs are air polygons whose corners are the landmarks. */
function chestAnatomy(rng: Rng): Anatomy {
  const J = (s: number) => rng.uniform(-s, s);
  const w = 1 + J(0.06), h = 1 + J(0.06);
  const L = (x: number, y: number): Point => [0.5 + (x - 0.5) * w, 0.12 + (y - 0.12) * h];
  const rApex = L(0.39 + J(0.02), 0.13 + J(0.015));
  const rCP = L(0.15 + J(0.02), 0.79 + J(0.02));
  const rCard = L(0.41 + J(0.015), 0.61 + J(0.02));
  const lApex = L(0.62 + J(0.02), 0.125 + J(0.015));
  const lCP = L(0.87 + J(0.02), 0.78 + J(0.02));
  const lCard = L(0.75 + J(0.02), 0.69 + J(0.02));
  const rLung: Point[] = [rApex, L(0.3, 0.15), L(0.21, 0.24), L(0.165, 0.4), L(0.15, 0.6), rCP,
    lerp(rCP, rCard, 0.3), add(lerp(rCP, rCard, 0.65), [0, -0.04]), rCard, L(0.44, 0.45), L(0.44, 0.25)];
  const lLung: Point[] = [lApex, L(0.56, 0.25), L(0.55, 0.42), L(0.6, 0.55), lCard,
    add(lerp(lCard, lCP, 0.4), [0, -0.035]), lerp(lCard, lCP, 0.75), lCP, L(0.85, 0.6), L(0.83, 0.4), L(0.79, 0.24), L(0.71, 0.15)];
  return {
    points: [rApex, rCP, rCard, lApex, lCP, lCard],
    draw(cv, pose, rg) {
      const P = pose.map, Ln = pose.len, a = pose.angle;
      const st = 0.9 * (1 + rg.uniform(-0.1, 0.1));
      const rho = 0.9 * (1 + rg.uniform(-0.1, 0.1));
      // Body and neck, mediastinum, heart, diaphragm.
      cv.polygon(cv.soft, [L(0.06, 0.12), L(0.3, 0.04), L(0.7, 0.04), L(0.94, 0.12), L(0.97, 1.1), L(0.03, 1.1)].map(P), st, Ln(0.12));
      cv.capsule(cv.soft, P(L(0.5, -0.2)), P(L(0.5, 0.05)), Ln(0.11), st * 0.8);
      cv.ellipsoid(cv.soft, P(L(0.59, 0.62)), Ln(0.17), Ln(0.12), a - 0.3, st * 0.6);
      // Lungs (air).
      cv.polygon(cv.soft, rLung.map(P), -st * 0.75, Ln(0.05));
      cv.polygon(cv.soft, lLung.map(P), -st * 0.75, Ln(0.05));
      // Spine, clavicles, ribs.
      for (let i = 0; i < 12; i++) cv.ellipsoid(cv.bone, P(L(0.5, 0.06 + 0.075 * i)), Ln(0.035), Ln(0.03), a, rho * 0.7, 0.3);
      cv.capsule(cv.bone, P(L(0.45, 0.12)), P(L(0.16, 0.09)), Ln(0.014), rho, 0.3);
      cv.capsule(cv.bone, P(L(0.55, 0.12)), P(L(0.84, 0.09)), Ln(0.014), rho, 0.3);
      for (let i = 0; i < 9; i++) {
        const y0 = 0.13 + 0.07 * i;
        for (const side of [-1, 1]) {
          const pts: Point[] = [];
          for (let t = 0; t <= 4; t++) {
            const s = t / 4;
            pts.push(L(0.5 + side * (0.04 + 0.36 * Math.sin(s * 1.3)), y0 + 0.05 * s + 0.1 * s * s - 0.06 * Math.sin(s * 2.2) + (side > 0 ? 0.005 : 0)));
          }
          for (let t = 0; t < 4; t++) cv.capsule(cv.bone, P(pts[t]!), P(pts[t + 1]!), Ln(0.009), rho * 0.7, 0.35);
        }
      }
    },
  };
}

const ANATOMY: Record<SyntheticKind, { make: (r: Rng) => Anatomy; names: string[]; onBone: boolean[]; scale: number; centre: Point }> = {
  hand: { make: handAnatomy, names: HAND_SYNTH_LANDMARKS, onBone: HAND_SYNTH_LANDMARKS.map(() => true), scale: 1.45, centre: [0.5, 0.6] },
  head: { make: headAnatomy, names: HEAD_SYNTH_LANDMARKS, onBone: HEAD_ON_BONE, scale: 1.0, centre: [0.5, 0.5] },
  chest: { make: chestAnatomy, names: CHEST_SYNTH_LANDMARKS, onBone: CHEST_SYNTH_LANDMARKS.map(() => false), scale: 1.0, centre: [0.5, 0.5] },
};

// ------------------------------------------------------------------------------------- public

/** One synthetic X-ray. */
export function synthesizeOne(kind: SyntheticKind, size: number, seed: number, opts: Partial<SynthOptions> = {}): { image: GreyImage; points: Point[]; mmPerPixel: number | undefined } {
  const spec = ANATOMY[kind];
  const rng = makeRng(seed);
  const anatomy = spec.make(rng);
  const rot = ((opts.rotationDeg ?? 12) * Math.PI) / 180;
  const [s0, s1] = opts.scaleRange ?? [0.9, 1.05];
  const sh = (opts.shift ?? 0.05) * size;
  let pose!: Pose;
  let points: Point[] = [];
  const margin = Math.max(2, size * 0.02);
  for (let attempt = 0; attempt < 20; attempt++) {
    const f = attempt < 10 ? 1 : 0.3; // shrink the variation if the pose keeps pushing points out
    pose = makePose(size, rng.uniform(-rot, rot) * f, spec.scale * rng.uniform(s0, s1) * (attempt < 10 ? 1 : 0.85), rng.uniform(-sh, sh) * f, rng.uniform(-sh, sh) * f, spec.centre);
    points = anatomy.points.map(pose.map);
    if (points.every(([x, y]) => x >= margin && y >= margin && x <= size - 1 - margin && y <= size - 1 - margin)) break;
  }
  const cv = new Canvas(size);
  anatomy.draw(cv, pose, rng);
  const n1 = valueNoise(size, 6, rng), n2 = valueNoise(size, Math.max(8, size >> 3), rng);
  const img = new Float32Array(size * size);
  const tissueTex = rng.uniform(0.08, 0.18), boneTex = rng.uniform(0.15, 0.35);
  const soft = cv.soft, bone = cv.bone;
  for (let i = 0; i < img.length; i++) {
    const mu = soft[i]! * (1 + tissueTex * n1[i]!) + bone[i]! * (1 + boneTex * n2[i]!);
    img[i] = mu > 0 ? 1 - Math.exp(-mu) : 0;
  }
  const blurs = rng.int(1, 3) + (size >= 256 ? 1 : 0);
  for (let b = 0; b < blurs; b++) blur121(img, size);
  const gamma = rng.uniform(0.8, 1.25), contrast = rng.uniform(0.85, 1.15), bright = rng.uniform(0.02, 0.08);
  const noise = rng.uniform(0.006, 0.025);
  // Gamma through a 4097-entry table (linear interpolation): exact enough for 8-bit output, and fast.
  const LUT = new Float64Array(4098);
  for (let i = 0; i <= 4097; i++) LUT[i] = Math.pow(Math.min(i, 4096) / 4096, gamma);
  const off = 0.5 + bright - 0.5 * (1 - contrast) - 0.5 * contrast;
  for (let i = 0; i < img.length; i++) {
    const f = img[i]! * 4096, k = f | 0;
    let v = contrast * (LUT[k]! + (f - k) * (LUT[k + 1]! - LUT[k]!)) + off;
    v += noise * rng.normal();
    img[i] = Math.round(255 * (v < 0 ? 0 : v > 1 ? 1 : v));
  }
  let mm: number | undefined;
  if (kind === 'hand') mm = 50 / Math.hypot(points[0]![0] - points[4]![0], points[0]![1] - points[4]![1]);
  else if (kind === 'head') mm = 200 / pose.len(1);
  return { image: { width: size, height: size, data: img, bitDepth: 8 }, points, mmPerPixel: mm };
}

/** `n` synthetic X-rays of one layout; image i depends only on (seed, i). */
export function synthesize(opts: SynthOptions): SyntheticSet {
  const { kind, n, size, seed } = opts;
  if (!ANATOMY[kind]) throw new RangeError(`synthesize: unknown kind '${kind}' (hand, head, chest)`);
  checkSynthBounds(n, size);
  const spec = ANATOMY[kind];
  const out: SyntheticSet = {
    kind, size, k: spec.names.length, landmarkNames: spec.names.slice(), onBone: spec.onBone.slice(),
    images: [], points: [], mmPerPixel: [],
  };
  for (let i = 0; i < n; i++) {
    const one = synthesizeOne(kind, size, mixSeed(seed, i, kind.charCodeAt(0), kind.charCodeAt(1)), opts);
    out.images.push(one.image);
    out.points.push(one.points);
    out.mmPerPixel.push(one.mmPerPixel);
    opts.onProgress?.(i + 1, n);
  }
  return out;
}

/** A synthetic set as a LandmarkDataset (images in memory). */
export function syntheticDataset(opts: SynthOptions): LandmarkDataset {
  const s = synthesize(opts);
  const items = s.images.map((image, i) => {
    const it: LandmarkDataset['items'][number] = {
      id: `${s.kind}-${String(i).padStart(4, '0')}`, imagePath: `synthetic:${s.kind}/${i}`, points: s.points[i]!,
      width: image.width, height: image.height, image,
    };
    const mm = s.mmPerPixel[i];
    if (mm !== undefined) it.mmPerPixel = mm;
    return it;
  });
  return {
    name: `synthetic-${s.kind}`, landmarkNames: s.landmarkNames, k: s.k, items,
    unit: s.kind === 'chest' ? 'px' : 'mm',
    report: { skipped: 0, errors: [], missingImages: 0, notes: [`synthetic ${s.kind}, seed ${opts.seed}, ${opts.size}px`] },
  };
}

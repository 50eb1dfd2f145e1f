/**
 * The image viewer: the X-ray on a canvas, an optional heatmap overlay of one landmark, and one
 * DOM element per landmark (numbered, named, coloured by confidence, corrected ones marked) that
 * the user drags to correct it. Zoom with the wheel or a two-finger pinch, pan by dragging the
 * background. Markers are real elements carrying `data-landmark`, `data-x`, `data-y` (original
 * image pixels, current values): the app's test contract.
 *
 * Coordinates: image pixel centres at integers, so image x maps to screen tx + s·(x + 0.5).
 */
import type { XY } from './state';

export interface MarkerData {
  points: XY[];
  names: string[];
  corrected: boolean[];
  /** Per landmark: 'high' | 'mid' | 'low' confidence (colour). */
  levels: ConfidenceLevel[];
  /** Per landmark: the guards' flags; a flagged point's marker carries `data-flag` and is drawn apart. */
  flags?: string[][];
}

export type ConfidenceLevel = 'high' | 'mid' | 'low' | 'none';

/** Confidence relative to the image's best landmark: the peak scale depends on the model's loss. */
export function confidenceLevels(confidence: readonly number[]): ConfidenceLevel[] {
  if (!confidence.length) return [];
  const best = Math.max(...confidence);
  if (!(best > 0)) return confidence.map(() => 'none');
  return confidence.map((c) => (c >= 0.5 * best ? 'high' : c >= 0.25 * best ? 'mid' : 'low'));
}

/** A thumbnail (longer side `side` px) of an image on screen, as a data URL for the strip. */
export function thumbnail(image: ImageBitmap, side = 96): string {
  const s = side / Math.max(image.width, image.height);
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(image.width * s));
  c.height = Math.max(1, Math.round(image.height * s));
  c.getContext('2d')!.drawImage(image, 0, 0, c.width, c.height);
  return c.toDataURL('image/png');
}

export class Viewer {
  readonly canvas = document.createElement('canvas');
  readonly heat = document.createElement('canvas');
  private readonly stage = document.createElement('div');
  private readonly layer = document.createElement('div');
  private markers: HTMLElement[] = [];
  private data: MarkerData | undefined;
  private scale = 1;
  private tx = 0;
  private ty = 0;
  private width = 0;
  private height = 0;
  private pointers = new Map<number, { x: number; y: number }>();
  private selected = -1;
  /** A landmark was dropped at a new place (image pixels). */
  onMove: (k: number, to: XY) => void = () => undefined;
  /** A landmark was clicked (selects it for the heatmap). */
  onSelect: (k: number) => void = () => undefined;

  constructor(readonly root: HTMLElement) {
    this.stage.className = 'stage';
    this.layer.className = 'markers';
    this.canvas.id = 'image-canvas';
    this.heat.className = 'heatmap';
    this.heat.hidden = true;
    this.stage.append(this.canvas, this.heat);
    root.append(this.stage, this.layer);
    root.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    root.addEventListener('pointerdown', (e) => this.onPanStart(e));
    root.addEventListener('pointermove', (e) => this.onPanMove(e));
    const end = (e: PointerEvent) => this.pointers.delete(e.pointerId);
    root.addEventListener('pointerup', end);
    root.addEventListener('pointercancel', end);
    new ResizeObserver(() => this.layout()).observe(root);
  }

  /** Shows an image (grey pixels already mapped to 0–255 by the worker), fitted to the view. */
  show(image: ImageBitmap): void {
    this.width = image.width;
    this.height = image.height;
    this.canvas.width = image.width;
    this.canvas.height = image.height;
    this.canvas.getContext('2d')!.drawImage(image, 0, 0);
    this.heat.hidden = true;
    this.root.classList.add('has-image');
    this.fit();
  }

  clear(): void {
    this.width = this.height = 0;
    this.canvas.width = this.canvas.height = 0;
    this.heat.hidden = true;
    this.root.classList.remove('has-image');
    this.setMarkers(undefined);
  }

  /** Scales the image to fill the view, centred. */
  fit(): void {
    const r = this.root.getBoundingClientRect();
    if (!this.width || !r.width) return;
    this.scale = Math.min(r.width / this.width, r.height / this.height) * 0.96;
    this.tx = (r.width - this.scale * this.width) / 2;
    this.ty = (r.height - this.scale * this.height) / 2;
    this.layout();
  }

  /**
   * Overlays one landmark's heatmap (size × size, model space) where the model saw it: the image
   * was fitted into the square keeping its aspect ratio, centred (the library's 'pad' fit).
   */
  showHeatmap(heatmap: Float32Array | undefined, size: number): void {
    if (!heatmap || !this.width) {
      this.heat.hidden = true;
      return;
    }
    this.heat.width = this.heat.height = size;
    let max = -Infinity;
    for (const v of heatmap) if (v > max) max = v;
    // a heatmap (or a probability map) scaled to peak 1; negative values are noise
    const weight = (v: number) => (max > 0 ? Math.max(0, v) / max : 0);
    const img = new ImageData(size, size);
    for (let i = 0; i < heatmap.length; i++) {
      const t = weight(heatmap[i]!);
      img.data[4 * i] = 255;
      img.data[4 * i + 1] = Math.round(220 * (1 - t));
      img.data[4 * i + 2] = 0;
      img.data[4 * i + 3] = Math.round(230 * Math.sqrt(t));
    }
    this.heat.getContext('2d')!.putImageData(img, 0, 0);
    const s = Math.min(size / this.width, size / this.height);
    const ox = (size - s * this.width) / 2;
    const oy = (size - s * this.height) / 2;
    Object.assign(this.heat.style, { left: `${-ox / s}px`, top: `${-oy / s}px`, width: `${size / s}px`, height: `${size / s}px` });
    this.heat.hidden = false;
  }

  setSelected(k: number): void {
    this.selected = k;
    this.markers.forEach((m, i) => m.classList.toggle('selected', i === k));
  }

  /** Replaces the markers (or removes them, given undefined). */
  setMarkers(data: MarkerData | undefined): void {
    this.data = data;
    const n = data?.points.length ?? 0;
    while (this.markers.length > n) this.markers.pop()!.remove();
    while (this.markers.length < n) {
      const k = this.markers.length;
      const m = document.createElement('div');
      m.className = 'marker';
      m.dataset.landmark = String(k);
      m.innerHTML = '<span class="dot"></span><span class="label"></span>';
      m.addEventListener('pointerdown', (e) => this.onMarkerDown(e, k));
      this.layer.append(m);
      this.markers.push(m);
    }
    if (data) data.points.forEach((p, k) => this.paint(k, p));
    this.setSelected(this.selected);
  }

  private paint(k: number, p: XY): void {
    const m = this.markers[k]!;
    const d = this.data!;
    m.dataset.x = String(p[0]);
    m.dataset.y = String(p[1]);
    m.className = `marker conf-${d.levels[k] ?? 'none'}${d.corrected[k] ? ' corrected' : ''}${k === this.selected ? ' selected' : ''}`;
    // a corrected point is the user's: the model's flags no longer apply ('redecoded' alone is information, not a
    // warning)
    const flags = d.corrected[k] ? [] : (d.flags?.[k] ?? []).filter((f) => f !== 'redecoded');
    if (flags.length) { m.dataset.flag = flags.join(' '); m.classList.add('flagged'); }
    else delete m.dataset.flag;
    m.title = `${k + 1}. ${d.names[k] ?? ''} (${p[0].toFixed(1)}, ${p[1].toFixed(1)})${d.corrected[k] ? ' — corrected' : ''}${flags.length ? ` — flagged: ${flags.join(', ')}` : ''}`;
    m.querySelector('.label')!.textContent = `${k + 1} ${d.names[k] ?? ''}`;
    // left/top, not a transform: a transform would make each marker a stacking context, and later
    // markers' labels would cover earlier markers' dots
    m.style.left = `${this.tx + this.scale * (p[0] + 0.5)}px`;
    m.style.top = `${this.ty + this.scale * (p[1] + 0.5)}px`;
  }

  private layout(): void {
    this.stage.style.transform = `matrix(${this.scale}, 0, 0, ${this.scale}, ${this.tx}, ${this.ty})`;
    this.root.dataset.scale = String(this.scale);
    if (this.data) this.data.points.forEach((p, k) => this.paint(k, p));
  }

  /** Screen position (relative to the view) → image pixels. */
  private toImage(clientX: number, clientY: number): XY {
    const r = this.root.getBoundingClientRect();
    return [(clientX - r.left - this.tx) / this.scale - 0.5, (clientY - r.top - this.ty) / this.scale - 0.5];
  }

  private zoomAt(clientX: number, clientY: number, factor: number): void {
    const r = this.root.getBoundingClientRect();
    const s = Math.min(64, Math.max(0.02, this.scale * factor));
    const f = s / this.scale;
    const cx = clientX - r.left, cy = clientY - r.top;
    this.tx = cx - f * (cx - this.tx);
    this.ty = cy - f * (cy - this.ty);
    this.scale = s;
    this.layout();
  }

  private onWheel(e: WheelEvent): void {
    if (!this.width) return;
    e.preventDefault();
    this.zoomAt(e.clientX, e.clientY, Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)));
  }

  private onPanStart(e: PointerEvent): void {
    if ((e.target as HTMLElement).closest('.marker')) return;
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    this.root.setPointerCapture(e.pointerId);
  }

  private onPanMove(e: PointerEvent): void {
    const prev = this.pointers.get(e.pointerId);
    if (!prev) return;
    if (this.pointers.size === 2) {
      // pinch: zoom by the change of distance between the two pointers, about their midpoint
      const other = [...this.pointers.entries()].find(([id]) => id !== e.pointerId)![1];
      const before = Math.hypot(prev.x - other.x, prev.y - other.y);
      const after = Math.hypot(e.clientX - other.x, e.clientY - other.y);
      if (before > 0) this.zoomAt((e.clientX + other.x) / 2, (e.clientY + other.y) / 2, after / before);
    } else {
      this.tx += e.clientX - prev.x;
      this.ty += e.clientY - prev.y;
      this.layout();
    }
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
  }

  private onMarkerDown(e: PointerEvent, k: number): void {
    if (!this.data) return;
    e.preventDefault();
    e.stopPropagation();
    const m = this.markers[k]!;
    m.setPointerCapture(e.pointerId);
    const start = this.data.points[k]!;
    const [sx, sy] = [e.clientX, e.clientY];
    let moved = false;
    const move = (ev: PointerEvent) => {
      const dx = (ev.clientX - sx) / this.scale, dy = (ev.clientY - sy) / this.scale;
      if (!moved && Math.hypot(ev.clientX - sx, ev.clientY - sy) < 2) return;
      moved = true;
      m.classList.add('dragging');
      this.paint(k, [start[0] + dx, start[1] + dy]);
    };
    const up = (ev: PointerEvent) => {
      m.removeEventListener('pointermove', move);
      m.removeEventListener('pointerup', up);
      m.removeEventListener('pointercancel', up);
      m.classList.remove('dragging');
      if (moved) this.onMove(k, [start[0] + (ev.clientX - sx) / this.scale, start[1] + (ev.clientY - sy) / this.scale]);
      else this.onSelect(k);
    };
    m.addEventListener('pointermove', move);
    m.addEventListener('pointerup', up);
    m.addEventListener('pointercancel', up);
  }

  /** The image position under a screen point (for keyboard nudges and tests of the mapping). */
  imageAt(clientX: number, clientY: number): XY {
    return this.toImage(clientX, clientY);
  }
}

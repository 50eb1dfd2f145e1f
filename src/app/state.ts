/**
 * The app's annotation state, pure (no DOM, no GPU): the images the user opened, the current
 * point of every landmark on each (predicted, or corrected by hand / imported), which ones were
 * corrected, and an undo / redo history of corrections. Predictions replace only the points the
 * user has not corrected, so re-running a model (after fine-tuning, or a reload) never loses work.
 */

export type XY = [number, number];

/** One opened image and its landmarks, in the image's own pixels (pixel centres at integers). */
export interface ImageRecord {
  /** Unique key within the session (file name, made unique). */
  id: string;
  /** File name as opened. */
  name: string;
  width: number;
  height: number;
  /**
   * Pixel spacing in mm along x and y when the file states one (DICOM, MetaImage, TIFF); points are then also exported
   * in mm.
   */
  spacing?: { x: number; y: number };
  /** Current point per landmark (empty until predicted or imported). */
  points: XY[];
  /** Per landmark: moved by the user or imported (kept when predictions refresh). */
  corrected: boolean[];
  /** Per landmark: the model's heatmap peak at the last prediction (empty before one). */
  confidence: number[];
  /** Per landmark: the prediction guards' flags (docs/guards.md), when the model is calibrated. */
  flags?: string[][];
  /** The prediction guards' warnings for this image (orientation changed, …). */
  warnings?: string[];
}

/** One landmark's value before and after an edit. */
export interface Change {
  id: string;
  k: number;
  before: { point: XY | undefined; corrected: boolean };
  after: { point: XY; corrected: boolean };
}

/** The serialisable part of the state (what persistence stores). */
export interface Snapshot {
  images: ImageRecord[];
  selected: number;
  /** Undo and redo stacks, so undo still works after a reload. */
  history?: { undo: Change[][]; redo: Change[][] };
}

const samePoint = (a: XY | undefined, b: XY | undefined): boolean => !!a && !!b && a[0] === b[0] && a[1] === b[1];

/** Unique id for a file name among `taken` ("a.png", "a.png (2)", …). */
export function uniqueId(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  for (let n = 2; ; n++) if (!taken.has(`${name} (${n})`)) return `${name} (${n})`;
}

export class Annotations {
  images: ImageRecord[] = [];
  /** Index of the image on screen (-1: none). */
  selected = -1;
  private undoStack: Change[][] = [];
  private redoStack: Change[][] = [];
  /** Called after every change (persistence and the view listen). */
  onChange: () => void = () => undefined;

  static from(s: Snapshot): Annotations {
    const a = new Annotations();
    a.images = s.images.map((im) => ({ ...im, points: im.points.map((p) => [p[0], p[1]] as XY), corrected: [...im.corrected], confidence: [...(im.confidence ?? [])] }));
    a.selected = Math.min(s.selected, a.images.length - 1);
    a.undoStack = s.history?.undo ?? [];
    a.redoStack = s.history?.redo ?? [];
    return a;
  }

  snapshot(): Snapshot {
    return { images: this.images, selected: this.selected, history: { undo: this.undoStack, redo: this.redoStack } };
  }

  get current(): ImageRecord | undefined {
    return this.images[this.selected];
  }

  byId(id: string): ImageRecord | undefined {
    return this.images.find((im) => im.id === id);
  }

  /** Adds an image (no points yet) and returns its record. */
  add(name: string, width: number, height: number, spacing?: { x: number; y: number }): ImageRecord {
    const id = uniqueId(name, new Set(this.images.map((im) => im.id)));
    const rec: ImageRecord = { id, name, width, height, points: [], corrected: [], confidence: [], ...(spacing ? { spacing: { x: spacing.x, y: spacing.y } } : {}) };
    this.images.push(rec);
    if (this.selected < 0) this.selected = 0;
    this.onChange();
    return rec;
  }

  remove(id: string): void {
    const i = this.images.findIndex((im) => im.id === id);
    if (i < 0) return;
    this.images.splice(i, 1);
    const drop = (stack: Change[][]) => stack.map((e) => e.filter((c) => c.id !== id)).filter((e) => e.length);
    this.undoStack = drop(this.undoStack);
    this.redoStack = drop(this.redoStack);
    if (this.selected >= this.images.length) this.selected = this.images.length - 1;
    this.onChange();
  }

  select(i: number): void {
    if (i < 0 || i >= this.images.length || i === this.selected) return;
    this.selected = i;
    this.onChange();
  }

  /**
   * The model's points for an image: they replace the points not corrected by the user (all of
   * them when the landmark count changed, i.e. another model). Not an undoable edit.
   */
  setPrediction(id: string, points: XY[], confidence: number[], guards: { flags?: string[][]; warnings?: string[] } = {}): void {
    const im = this.byId(id);
    if (!im) return;
    const keep = im.points.length === points.length;
    im.points = points.map((p, k) => (keep && im.corrected[k] ? im.points[k]! : [p[0], p[1]]));
    im.corrected = points.map((_, k) => keep && !!im.corrected[k]);
    im.confidence = [...confidence];
    if (guards.flags) im.flags = guards.flags.map((f) => [...f]);
    else delete im.flags;
    if (guards.warnings?.length) im.warnings = [...guards.warnings];
    else delete im.warnings;
    this.onChange();
  }

  /** Moves a landmark (a correction): undoable. */
  move(id: string, k: number, to: XY): void {
    const im = this.byId(id);
    if (!im || k < 0 || k >= im.points.length) return;
    if (samePoint(im.points[k], to) && im.corrected[k]) return;
    this.commit([{ id, k, before: { point: im.points[k], corrected: !!im.corrected[k] }, after: { point: [to[0], to[1]], corrected: true } }]);
  }

  /** Sets many points at once (an imported file), marked corrected: one undoable edit. */
  importPoints(id: string, points: XY[], corrected: boolean[]): void {
    const im = this.byId(id);
    if (!im) return;
    if (im.points.length && im.points.length !== points.length) {
      throw new RangeError(`${im.name}: ${points.length} points imported, ${im.points.length} landmarks on the image`);
    }
    if (!im.points.length) {
      im.points = points.map((p) => [p[0], p[1]]);
      im.corrected = points.map(() => false);
      im.confidence = [];
    }
    this.commit(points.map((p, k) => ({ id, k, before: { point: im.points[k], corrected: !!im.corrected[k] }, after: { point: [p[0], p[1]] as XY, corrected: corrected[k] ?? true } })));
  }

  private apply(changes: Change[], side: 'before' | 'after'): void {
    for (const c of changes) {
      const im = this.byId(c.id);
      if (!im) continue;
      const v = c[side];
      if (v.point) im.points[c.k] = [v.point[0], v.point[1]];
      im.corrected[c.k] = v.corrected;
    }
  }

  private commit(changes: Change[]): void {
    this.apply(changes, 'after');
    this.undoStack.push(changes);
    this.redoStack = [];
    this.onChange();
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  /** Reverts the last edit; returns the id of the image it touched. */
  undo(): string | undefined {
    const e = this.undoStack.pop();
    if (!e) return undefined;
    this.apply([...e].reverse(), 'before');
    this.redoStack.push(e);
    this.onChange();
    return e[0]?.id;
  }

  redo(): string | undefined {
    const e = this.redoStack.pop();
    if (!e) return undefined;
    this.apply(e, 'after');
    this.undoStack.push(e);
    this.onChange();
    return e[0]?.id;
  }

  /** Images with at least one corrected point (training material), with every point set. */
  labelled(): ImageRecord[] {
    return this.images.filter((im) => im.points.length > 0 && im.corrected.some(Boolean));
  }
}

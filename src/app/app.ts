/**
 * The osteo web app: open a checkpoint, drop X-rays, see the landmarks the model finds on this
 * machine's GPU (nothing is uploaded), correct them by dragging, export / import points, and
 * fine-tune the model on the corrections. This class wires the page to the modules that do the
 * work: Session (the engine worker: GPU, decoders and training off the page's thread, through
 * osteo/browser), Annotations (points, undo), Persistence (IndexedDB), Viewer (image and markers),
 * TrainPanel (training settings and progress). #status ends in "ready" when the current
 * image's predictions are drawn and nothing is pending (no model load, decode or training in
 * flight), and starts with "error:" when something failed.
 *
 * Events may finish in any order (a slow default model after the user's own, two uploads in a
 * row, an image dropped during a fine-tune): every model request takes a number and only the
 * newest one may change the model; every view request takes a token and only the newest one may
 * draw; predictions carry the model generation that made them. So the panel, the markers, their
 * names and the status always describe one model, the last one asked for.
 */
import { DeviceLostError } from '../browser';
import { $, download, droppedFiles, escapeHtml, fileKind, openable } from './dom';
import { renderLandmarkList, renderStrip } from './lists';
import { explain } from './errors';
import { Persistence } from './persist';
import { checkLandmarkCount, exportCsv, exportJson, parsePointsFile, toPointsFile, type PointsFile } from './points_io';
import { Session, type ModelInfo } from './session';
import { Annotations, type ImageRecord, type XY } from './state';
import { BoundedCache } from './cache';
import type { ImageRef } from './protocol';
import { TrainPanel } from './train_panel';
import { confidenceLevels, thumbnail, Viewer } from './viewer';

export class App {
  readonly session = new Session();
  state = new Annotations();
  private store: Persistence | undefined;
  private readonly viewer = new Viewer($('#viewer'));
  private readonly trainPanel = new TrainPanel($('#train-panel'));
  /**
   * Files by image id: Blobs (on disk for picked files; also in IndexedDB). The engine worker holds
   * the decoded pixels, bounded (an evicted image is decoded again from the file sent along).
   */
  private readonly files = new Map<string, Blob>();
  private readonly thumbs = new Map<string, string>();
  private readonly heatmaps = new BoundedCache<string, { generation: number; size: number; data: Float32Array }>(64, 128 << 20, (h) => h.data.byteLength);
  /** Number of the newest model request (default, opened, fine-tuned): older ones may not change the model. */
  private modelRequest = 0;
  /** Operations in flight (model loads, opening files, training): "ready" waits for none. */
  private busy = 0;
  /** Points imported for images not open yet, by file name. */
  private readonly pending = new Map<string, { points: XY[]; corrected: boolean[] }>();
  private selectedLandmark = 0;
  private heatmapOn = false;
  private showToken = 0;
  private timing = '';
  /** Numbers the decodes of files not yet given an image id. */
  private opening = 0;

  status(text: string, advice = ''): void {
    $('#status').textContent = text;
    const a = $('#advice');
    a.textContent = advice;
    a.hidden = !advice;
  }

  /**
   * Waits for a write to IndexedDB; when it fails (the quota is full, storage was cleared) the work
   * stays open in this tab and a warning says what was not kept and what to do.
   */
  private async keep(write: Promise<void> | undefined, what: string): Promise<void> {
    try {
      await write;
    } catch (e) {
      this.storageFailed(e, what);
    }
  }

  private storageFailed(e: unknown, what: string): void {
    const full = e instanceof DOMException && e.name === 'QuotaExceededError';
    const w = $('#storage-warning');
    w.hidden = false;
    w.textContent = `${full ? 'This browser\'s storage is full' : 'Saving in this browser failed'}: ${what} is open here but not kept for the next visit. Export your points (Export JSON) to keep them${full ? ', or free space: remove images you are done with, or clear site data' : ''}.`;
    console.error(`osteo: saving ${what} to IndexedDB failed`, e);
  }

  /** How many X-rays are decoded in memory (the rest are decoded again when shown). */
  private renderMemory(): void {
    const { decoded, bytes } = this.session.memory;
    const mb = (bytes / 2 ** 20).toFixed(0);
    $('#memory').textContent = this.state.images.length ? `${decoded} of ${this.state.images.length} image${this.state.images.length === 1 ? '' : 's'} decoded in memory (${mb} MB)` : '';
    $('#memory').dataset.decoded = String(decoded);
  }

  fail(e: unknown, what?: string): void {
    const x = explain(e, what ? { what } : {});
    this.status(`error: ${x.message}`, x.advice);
    $('#recover').hidden = x.kind !== 'device-lost';
    console.error(e);
  }

  async start(): Promise<void> {
    this.bind();
    this.busy++;
    try {
      await this.startUp();
    } finally {
      this.busy--;
    }
    await this.showCurrent(this.session.adapter !== undefined && !this.failed);
    this.watchDevice();
  }

  /** Saved work, the GPU, the default model; false when the page cannot predict (the error is in #status). */
  private failed = false;

  private async startUp(): Promise<void> {
    this.status('starting: opening saved work');
    this.store = await Persistence.open();
    const saved = await this.store?.loadState().catch(() => undefined);
    if (saved?.images?.length) this.state = Annotations.from(saved);
    this.state.onChange = () => this.changed();
    this.renderStrip();
    this.renderButtons();
    this.status('starting: looking for a WebGPU adapter');
    try {
      const a = await this.session.acquire();
      $('#adapter').textContent = `${a.vendor || 'unknown vendor'} ${a.architecture || ''} ${a.description || ''}`.trim();
      if (a.fallback) {
        const w = $('#adapter-warning');
        w.hidden = false;
        w.textContent = 'Software adapter (no GPU): everything works, but slowly.';
      }
    } catch (e) {
      this.fail(e);
      this.disableGpu();
      this.failed = true;
      return;
    }
    try {
      await this.loadDefaultModel();
    } catch {
      this.failed = true; // the error stays in #status
    }
  }

  private watchDevice(): void {
    // a device lost while idle (driver reset, GPU process crash) is reported before the next click fails
    setInterval(() => {
      const reason = this.session.lostReason;
      if (reason && $('#recover').hidden) this.fail(new DeviceLostError(`GPU device lost (${reason})`));
    }, 1000);
  }

  private disableGpu(): void {
    for (const id of ['#train-start', '#demo-train']) ($(id) as HTMLButtonElement).disabled = true;
  }

  /** ?model=URL, else the model saved from the last visit, else the server's default (osteo serve --model). */
  private async loadDefaultModel(): Promise<void> {
    const param = new URLSearchParams(location.search).get('model');
    if (param) return this.requestModel(urlName(param), () => fetchModel(param), true);
    const saved = await this.store?.loadModel().catch(() => undefined);
    if (saved) return this.requestModel(saved.name, async () => saved.bytes, false);
    const res = await fetch('config.json').catch(() => undefined);
    const config = res?.ok ? ((await res.json().catch(() => ({}))) as { model?: string }) : {};
    if (config.model) return this.requestModel(urlName(config.model), () => fetchModel(config.model!), true);
    if (!this.session.info && this.modelRequest === 0) this.renderModel(undefined);
  }

  /**
   * Makes a checkpoint the model in use, unless a newer request came meanwhile (then this one is
   * dropped, its bytes unused and its errors unreported): the last model asked for wins.
   */
  private async requestModel(name: string, bytes: () => Promise<Uint8Array>, save: boolean): Promise<void> {
    const request = ++this.modelRequest;
    const wanted = () => request === this.modelRequest;
    this.busy++;
    try {
      this.status(`loading model ${name}`);
      const b = await bytes();
      if (!wanted()) return;
      const info = await this.session.load(b, name, wanted);
      if (!info) return;
      this.renderModel(info);
      this.failed = false;
      if (save) await this.keep(this.store?.saveModel({ name, bytes: b }), `the model ${name}`);
    } catch (e) {
      if (!wanted()) return; // superseded: its failure no longer matters
      this.fail(e, name);
      throw e;
    } finally {
      this.busy--;
    }
  }

  private renderModel(info: ModelInfo | undefined): void {
    $('#model-info').innerHTML = info
      ? `<b>${escapeHtml(info.name)}</b><br>${info.landmarks} landmarks, ${info.size}×${info.size} px input, ${info.parameters.toLocaleString()} parameters<br><small>${escapeHtml(info.provenance)}</small>` +
        `<ol class="names">${info.landmarkNames.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ol>`
      : 'No model loaded: open a checkpoint (.safetensors from osteo train), or train a small demo model here.';
    $('#demo-offer').hidden = !!info;
    if (!info && !this.state.images.length) this.status('no model: open a checkpoint or train a demo model');
  }

  private bind(): void {
    const onFiles = (files: FileList | null) => void this.openFiles(files ? Array.from({ length: files.length }, (_, i) => files[i]!) : []);
    for (const id of ['#model-input', '#image-input', '#points-input']) {
      const input = $<HTMLInputElement>(id);
      input.addEventListener('change', () => { onFiles(input.files); input.value = ''; });
    }
    const folder = $<HTMLInputElement>('#folder-input');
    folder.addEventListener('change', () => {
      const all = folder.files ? Array.from(folder.files) : [];
      void this.openFiles(all.filter((f) => openable(f.name)).sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true })));
      folder.value = '';
    });
    const drop = document.body;
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('dropping'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('dropping'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('dropping');
      // a dropped folder is walked (its images, checkpoints and points files); plain files open as they are
      if (e.dataTransfer) droppedFiles(e.dataTransfer).then((files) => this.openFiles(files), (err: unknown) => this.fail(err, 'drop'));
    });
    $('#export-json').addEventListener('click', () => this.exportPoints('json'));
    $('#export-csv').addEventListener('click', () => this.exportPoints('csv'));
    $('#undo').addEventListener('click', () => this.undoRedo('undo'));
    $('#redo').addEventListener('click', () => this.undoRedo('redo'));
    $('#fit').addEventListener('click', () => this.viewer.fit());
    $('#toggle-heatmap').addEventListener('click', () => { this.heatmapOn = !this.heatmapOn; this.drawHeatmap(); });
    $('#recover').addEventListener('click', () => void this.recover());
    $('#train-start').addEventListener('click', () => void this.train());
    $('#demo-train').addEventListener('click', () => void this.train());
    $('#demo-image').addEventListener('click', () => void this.addDemoImage());
    $('#clear-work').addEventListener('click', () => void this.clearWork());
    $('#remove-image').addEventListener('click', () => void this.removeCurrent());
    document.addEventListener('keydown', (e) => {
      if (!(e.ctrlKey || e.metaKey) || (e.target as HTMLElement).tagName === 'INPUT') return;
      if (e.key.toLowerCase() === 'z') { e.preventDefault(); this.undoRedo(e.shiftKey ? 'redo' : 'undo'); }
      if (e.key.toLowerCase() === 'y') { e.preventDefault(); this.undoRedo('redo'); }
    });
    document.addEventListener('keydown', (e) => this.onKey(e));
    this.viewer.onMove = (k, to) => { const im = this.state.current; if (im) this.state.move(im.id, k, to); };
    this.viewer.onSelect = (k) => { this.selectedLandmark = k; this.viewer.setSelected(k); this.drawHeatmap(); this.renderList(); };
  }

  /**
   * Keyboard: PageDown / PageUp the next / previous image, N / P (or . / ,) the next / previous
   * landmark, the arrow keys move the selected landmark by one image pixel (Shift: ten), a
   * correction like a drag; Delete removes the image. Not while typing in a field.
   */
  private onKey(e: KeyboardEvent): void {
    const t = e.target as HTMLElement;
    if (e.ctrlKey || e.metaKey || e.altKey || t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT') return;
    const im = this.state.current;
    const goImage = (d: number) => {
      const i = this.state.selected + d;
      if (i < 0 || i >= this.state.images.length) return;
      this.state.select(i);
      this.renderStrip();
      void this.showCurrent();
    };
    const arrows: Record<string, XY> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (e.key === 'PageDown') goImage(1);
    else if (e.key === 'PageUp') goImage(-1);
    else if (im?.points.length && (e.key === 'n' || e.key === '.' || e.key === 'p' || e.key === ',')) {
      const d = e.key === 'n' || e.key === '.' ? 1 : -1;
      this.viewer.onSelect((this.selectedLandmark + d + im.points.length) % im.points.length);
    } else if (im?.points.length && arrows[e.key] && this.selectedLandmark < im.points.length) {
      const [dx, dy] = arrows[e.key]!;
      const step = e.shiftKey ? 10 : 1;
      const [x, y] = im.points[this.selectedLandmark]!;
      this.state.move(im.id, this.selectedLandmark, [Math.min(im.width - 1, Math.max(0, x + dx * step)), Math.min(im.height - 1, Math.max(0, y + dy * step))]);
    } else if (e.key === 'Delete') void this.removeCurrent();
    else return;
    e.preventDefault();
  }

  /** Opens dropped or picked files by kind: checkpoints, points files, images (in that order). */
  async openFiles(files: File[]): Promise<void> {
    const models = files.filter((f) => fileKind(f.name) === 'model');
    const points = files.filter((f) => fileKind(f.name) === 'points');
    const images = files.filter((f) => fileKind(f.name) === 'image');
    let error: unknown;
    this.busy++;
    let first: string | undefined;
    const notes: string[] = [];
    try {
      for (const f of models.slice(-1)) {
        try { await this.requestModel(f.name, async () => new Uint8Array(await f.arrayBuffer()), true); } catch (e) { error = e; }
      }
      const progress = $<HTMLProgressElement>('#progress');
      if (images.length > 1) { progress.hidden = false; progress.max = images.length; progress.value = 0; }
      for (const [i, f] of images.entries()) {
        this.status(`decoding ${f.name} (${i + 1}/${images.length})`);
        try {
          // decoded in the worker, which keeps the pixels: the page learns the size and spacing
          const key = `opening:${++this.opening}`;
          const d = await this.session.decode({ id: key, file: f, name: f.name }, false);
          const rec = this.state.add(f.name, d.width, d.height, d.spacing);
          this.session.rekey(key, rec.id);
          this.files.set(rec.id, f);
          await this.keep(this.store?.saveFile(rec.id, f), f.name);
          const p = this.pending.get(f.name);
          if (p && (!this.session.info || p.points.length === this.session.info.landmarks)) { this.pending.delete(f.name); this.state.importPoints(rec.id, p.points, p.corrected); }
          first ??= rec.id;
        } catch (e) {
          error = e;
          this.fail(e, f.name);
        }
        progress.value = i + 1;
        this.renderMemory();
      }
      progress.hidden = true;
      for (const f of points) {
        try { notes.push(await this.importPoints(f)); } catch (e) { error = e; this.fail(e, f.name); }
      }
      if (first) this.state.select(this.state.images.findIndex((im) => im.id === first));
      this.renderStrip();
    } finally {
      this.busy--;
    }
    if (error) {
      await this.showCurrent(false);
      return; // the error stays in #status
    }
    await this.showCurrent(true, notes.join('; '));
  }

  /** Applies a points file to the open images of the same name (the rest wait for theirs); returns what it did. */
  private async importPoints(f: File): Promise<string> {
    const file: PointsFile = parsePointsFile(await f.text(), f.name);
    if (this.session.info) checkLandmarkCount(file, this.session.info.landmarks, f.name);
    let applied = 0;
    for (const im of file.images) {
      const rec = this.state.images.find((r) => r.name === im.name);
      // labels the user brought are kept over predictions and trained on, like corrections; a
      // file's model predictions (points with a confidence, not flagged corrected) are not labels
      const corrected = im.corrected;
      if (rec) { this.state.importPoints(rec.id, im.points, corrected); applied++; } else this.pending.set(im.name, { points: im.points, corrected });
    }
    return `imported ${f.name}: ${applied} image${applied === 1 ? '' : 's'} updated${this.pending.size ? `, ${this.pending.size} waiting for their image to be opened` : ''}`;
  }

  private exportPoints(format: 'json' | 'csv'): void {
    const all = $<HTMLInputElement>('#export-all').checked;
    const images = all ? this.state.images : this.state.current ? [this.state.current] : [];
    const file = toPointsFile(this.session.info?.name ?? null, this.session.info?.landmarkNames ?? [], images);
    const base = all ? 'osteo-points' : `${(images[0]?.name ?? 'image').replace(/\.[^.]*$/, '')}-points`;
    if (format === 'json') download(`${base}.json`, exportJson(file), 'application/json');
    else download(`${base}.csv`, exportCsv(file), 'text/csv');
  }

  private undoRedo(which: 'undo' | 'redo'): void {
    const id = which === 'undo' ? this.state.undo() : this.state.redo();
    const i = id ? this.state.images.findIndex((im) => im.id === id) : -1;
    if (i >= 0 && i !== this.state.selected) { this.state.select(i); void this.showCurrent(); }
  }

  /** After any state change: persist, and redraw the markers, the list and the buttons. */
  private changed(): void {
    this.store?.saveState(() => this.state.snapshot(), (e) => this.storageFailed(e, 'the points and corrections'));
    this.renderMarkers();
    // a drag or an undo keeps the image ready: refresh the counts in the status line
    const im = this.state.current;
    const status = $('#status').textContent ?? '';
    if (im && im.points.length && status.endsWith('· ready') && status.includes(`${im.name}: `)) this.status(status.slice(0, status.lastIndexOf(`${im.name}: `)) + this.readyText(im));
    this.renderButtons();
  }

  private renderButtons(): void {
    $<HTMLButtonElement>('#undo').disabled = !this.state.canUndo;
    $<HTMLButtonElement>('#redo').disabled = !this.state.canRedo;
  }

  /** The model's landmark names when they describe this image's points (same count), else numbers. */
  private namesFor(im: ImageRecord): string[] {
    return this.session.info?.landmarks === im.points.length ? this.session.info.landmarkNames : im.points.map((_, k) => String(k + 1));
  }

  private renderMarkers(): void {
    const im = this.state.current;
    if (!im || !im.points.length || this.viewer.canvas.dataset.image !== im.id) { this.viewer.setMarkers(undefined); this.renderList(); return; }
    this.viewer.setMarkers({ points: im.points, names: this.namesFor(im), corrected: im.corrected, levels: confidenceLevels(im.confidence), ...(im.flags ? { flags: im.flags } : {}) });
    this.renderList();
  }

  private renderList(): void {
    const im = this.state.current;
    renderLandmarkList(im, im ? this.namesFor(im) : [], this.selectedLandmark, (k) => this.viewer.onSelect(k));
  }

  private renderStrip(): void {
    renderStrip(this.state.images, this.state.selected, this.thumbs, (i) => { this.state.select(i); this.renderStrip(); void this.showCurrent(); });
  }

  /** The image as the worker takes it: its id (pixels decoded there before) and its file (to decode them again). */
  private async ref(im: ImageRecord): Promise<ImageRef> {
    let blob = this.files.get(im.id);
    if (!blob) {
      blob = await this.store?.loadFile(im.id);
      if (!blob) throw new Error(`${im.name}: the image file is no longer stored; open it again`);
      this.files.set(im.id, blob);
    }
    return { id: im.id, file: blob, name: im.name };
  }

  /**
   * Shows the current image and its markers; predicts when the model in use has not seen it yet.
   * Only the newest call draws (a token), a prediction counts only for the model generation that
   * made it, and the status says "ready" only when nothing else is in flight.
   */
  async showCurrent(predict = true, note = ''): Promise<void> {
    const lead = note ? `${note}; ` : '';
    const token = ++this.showToken;
    const stale = () => token !== this.showToken;
    const im = this.state.current;
    this.renderMemory();
    if (!im) {
      this.viewer.clear();
      this.renderList();
      if (predict && !this.busy) this.status(lead + (this.session.info ? 'no image: drop X-rays here or use "Open X-rays"' : 'no model: open a checkpoint or train a demo model'));
      return;
    }
    try {
      const ref = await this.ref(im);
      if (stale()) return;
      if (this.viewer.canvas.dataset.image !== im.id) {
        // windowed to 8 bits in the worker: the page only draws it
        const { display } = await this.session.decode(ref, true);
        if (stale()) { display?.close(); return; }
        this.viewer.show(display!);
        this.viewer.canvas.dataset.image = im.id;
        if (!this.thumbs.has(im.id)) { this.thumbs.set(im.id, thumbnail(display!)); this.renderStrip(); }
        display!.close();
      }
      this.renderMarkers();
      this.drawHeatmap();
      this.renderMemory();
      if (!predict) return;
      if (!this.session.hasModel) { if (!this.busy) this.status(`${im.name}: no model loaded, open a checkpoint to find landmarks`); return; }
      // the model may change while a prediction runs: then the newer model predicts again
      while (this.heatmaps.get(im.id)?.generation !== this.session.generation) {
        if (!this.busy) this.status(`${im.name}: finding landmarks`);
        const t = await this.session.predict(ref);
        if (stale()) return;
        if (t.generation !== this.session.generation) continue;
        this.heatmaps.set(im.id, { generation: t.generation, size: t.heatmaps.size, data: t.heatmaps.data });
        this.timing = t.first ? `${t.ms.toFixed(0)} ms (first run, with shader compilation)` : `${t.ms.toFixed(0)} ms`;
        if (t.first) $('#timing').textContent = `first image: ${t.ms.toFixed(0)} ms including shader compilation`;
        else $('#timing').textContent = `${$('#timing').textContent?.split(' · ')[0]} · last image: ${t.ms.toFixed(0)} ms`;
        this.state.setPrediction(im.id, t.prediction.points, t.prediction.confidence, { ...(t.prediction.flags ? { flags: t.prediction.flags } : {}), ...(t.prediction.warnings ? { warnings: t.prediction.warnings } : {}) });
        this.drawHeatmap();
      }
      if (!this.busy) this.status(lead + this.readyText(im));
    } catch (e) {
      if (!stale()) this.fail(e, im.name);
    }
  }

  /** The status line of an image whose markers are drawn. */
  private readyText(im: ImageRecord): string {
    const fixed = im.corrected.filter(Boolean).length;
    // the guards (docs/guards.md): flagged points not yet corrected, and the image's warnings
    const flagged = (im.flags ?? []).filter((f, k) => !im.corrected[k] && f.some((x) => x !== 'redecoded')).length;
    const warn = im.warnings?.length ? ` · warning: ${im.warnings.join('; ')}` : '';
    return `${im.name}: ${im.points.length} landmarks${fixed ? `, ${fixed} corrected` : ''}${flagged ? `, ${flagged} flagged` : ''}${this.timing ? `, ${this.timing}` : ''}${warn} · ready`;
  }

  private drawHeatmap(): void {
    const im = this.state.current;
    const h = im && this.heatmapOn ? this.heatmaps.get(im.id) : undefined;
    const k = this.selectedLandmark;
    $('#toggle-heatmap').classList.toggle('on', this.heatmapOn);
    if (!h || k >= (im?.points.length ?? 0)) return this.viewer.showHeatmap(undefined, 0);
    const n = h.size * h.size;
    // the library's maps are probabilities for every loss: shown as they are
    this.viewer.showHeatmap(h.data.subarray(k * n, (k + 1) * n), h.size);
  }

  private async recover(): Promise<void> {
    this.status('recovering: getting a new GPU device and reloading the model');
    try {
      await this.session.recover();
      $('#recover').hidden = true;
      this.heatmaps.clear();
      await this.showCurrent();
    } catch (e) {
      this.fail(e, 'recover');
    }
  }

  /** Fine-tunes the model in use on the corrected images (or trains a demo model when none is open), in the worker. */
  private async train(): Promise<void> {
    if (this.trainPanel.running) return;
    const model = this.session.info;
    const modelName = model?.name ?? 'model';
    const requestAtStart = this.modelRequest;
    const buttons = ['#train-start', '#demo-train'].map((id) => $<HTMLButtonElement>(id));
    buttons.forEach((b) => (b.disabled = true));
    let note = '';
    this.busy++;
    try {
      await this.session.acquire();
      const labelled = model ? this.state.labelled().filter((im) => im.points.length === model.landmarks) : [];
      const refs = await Promise.all(labelled.map((im) => this.ref(im)));
      // errors in mm only when every image states its spacing (geometric mean of x and y, as the library's readers)
      const mm = labelled.every((im) => im.spacing) ? labelled.map((im) => Math.sqrt(im.spacing!.x * im.spacing!.y)) : undefined;
      const images = refs.map((r, i) => ({ ...r, points: labelled[i]!.points }));
      this.status(model ? `fine-tuning on ${images.length} corrected image${images.length === 1 ? '' : 's'}` : 'training a demo model on synthetic hands');
      const trained = await this.trainPanel.run((settings, progress, signal) => this.session.train({ settings, model: !!model, images, ...(mm ? { mmPerPixel: mm } : {}) }, progress, signal), (s) => this.status(s));
      if (trained) {
        const name = model ? `${modelName.replace(/(-finetuned)?\.safetensors$/i, '')}-finetuned.safetensors` : 'demo-hand.safetensors';
        download(name, trained.bytes.slice(), 'application/octet-stream');
        // another model opened during the run wins: the trained one is downloaded, not used (adopt frees it)
        const request = this.modelRequest === requestAtStart ? ++this.modelRequest : -1;
        const info = await this.session.adopt(trained.handle, trained.bytes, name, () => request === this.modelRequest);
        if (info) {
          this.renderModel(info);
          await this.keep(this.store?.saveModel({ name, bytes: trained.bytes }), `the model ${name}`);
        } else note = `${name} downloaded but not used: another model was opened during training`;
      }
    } catch (e) {
      this.fail(e, 'training');
      this.busy--;
      return;
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
    this.busy--;
    await this.showCurrent(true, note);
  }

  /** A synthetic hand X-ray as a PNG file, to try the app without data. */
  private async addDemoImage(): Promise<void> {
    const seed = 100 + this.state.images.length;
    const file = new File([await this.session.demoImage(seed, 256)], `synthetic-hand-${seed}.png`, { type: 'image/png' });
    await this.openFiles([file]);
  }

  /** Forgets the image on screen: its points, its file here and in IndexedDB ("Remove image" button, Delete key). */
  private async removeCurrent(): Promise<void> {
    const im = this.state.current;
    if (!im) return;
    await this.session.forget(im.id).catch(() => undefined);
    this.files.delete(im.id); this.thumbs.delete(im.id); this.heatmaps.delete(im.id);
    this.state.remove(im.id);
    if (this.viewer.canvas.dataset.image === im.id) this.viewer.canvas.dataset.image = '';
    await this.keep(this.store?.deleteFile(im.id), `the removal of ${im.name}`);
    this.renderStrip();
    await this.showCurrent(true, `removed ${im.name}`);
  }

  private async clearWork(): Promise<void> {
    if (!confirm('Forget every opened image, point and correction (the model stays)?')) return;
    await this.store?.clear().catch(() => undefined);
    if (this.session.bytes && this.session.info) await this.keep(this.store?.saveModel({ name: this.session.info.name, bytes: this.session.bytes }), `the model ${this.session.info.name}`);
    await this.session.forget().catch(() => undefined);
    this.files.clear(); this.thumbs.clear(); this.heatmaps.clear(); this.pending.clear();
    this.state = new Annotations();
    this.state.onChange = () => this.changed();
    this.viewer.canvas.dataset.image = '';
    this.renderStrip();
    await this.showCurrent();
  }
}

/** The file name at the end of a model URL. */
const urlName = (url: string): string => decodeURIComponent(url.split('?')[0]!.split('/').pop() || url);

async function fetchModel(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText} (checkpoint)`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * The live training chart: training loss per step (blue, left axis) and validation MRE per epoch
 * (orange dots, right axis), with a legend. Redrawn on each new value; a canvas, no library.
 */
export class LossChart {
  private losses: number[] = [];
  private mre: { epoch: number; value: number }[] = [];
  private unit = '';

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.draw();
  }

  reset(): void {
    this.losses = [];
    this.mre = [];
    this.draw();
  }

  addLoss(v: number): void {
    if (Number.isFinite(v)) this.losses.push(v);
    this.draw();
  }

  addMre(epoch: number, value: number, unit: string): void {
    if (Number.isFinite(value)) this.mre.push({ epoch, value });
    this.unit = unit;
    this.draw();
  }

  private draw(): void {
    const c = this.canvas;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    const W = c.width, H = c.height;
    const L = 44, R = 44, T = 22, B = 20;
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = '#111';
    ctx.fillRect(0, 0, W, H);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#6cf';
    ctx.fillText('■ training loss (per step)', L, 13);
    ctx.fillStyle = '#fa4';
    ctx.fillText(`● validation MRE${this.unit ? ` (${this.unit})` : ''} per epoch`, L + 150, 13);
    ctx.strokeStyle = '#444';
    ctx.strokeRect(L, T, W - L - R, H - T - B);
    if (!this.losses.length) {
      ctx.fillStyle = '#888';
      ctx.fillText('no training yet', L + 8, T + 16);
      return;
    }
    const n = this.losses.length;
    const max = Math.max(...this.losses), min = Math.min(...this.losses);
    const span = max - min || Math.abs(max) || 1;
    const x = (i: number) => L + (n === 1 ? 0.5 : i / (n - 1)) * (W - L - R);
    const y = (v: number) => T + (1 - (v - min) / span) * (H - T - B);
    ctx.fillStyle = '#6cf';
    ctx.fillText(max.toPrecision(3), 2, T + 8);
    ctx.fillText(min.toPrecision(3), 2, H - B);
    ctx.fillText(`${n} steps`, W - R - 40, H - 5);
    ctx.strokeStyle = '#6cf';
    ctx.beginPath();
    this.losses.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    ctx.stroke();
    if (!this.mre.length) return;
    const mMax = Math.max(...this.mre.map((m) => m.value)), mMin = Math.min(...this.mre.map((m) => m.value));
    const mSpan = mMax - mMin || mMax || 1;
    const epochs = Math.max(...this.mre.map((m) => m.epoch));
    ctx.fillStyle = '#fa4';
    ctx.fillText(mMax.toPrecision(3), W - R + 4, T + 8);
    ctx.fillText(mMin.toPrecision(3), W - R + 4, H - B);
    for (const m of this.mre) {
      const px = L + (m.epoch / epochs) * (W - L - R);
      const py = T + (1 - (m.value - mMin) / mSpan) * (H - T - B);
      ctx.beginPath();
      ctx.arc(px, py, 3.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}

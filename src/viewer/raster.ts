/** A spike raster (one row per trial) and a PSTH (spikes per trial per second, by time bin). */
import { getJson, keyParam, type SpikeView } from './api.js';
import { h } from './dom.js';
import type { ViewState } from './state.js';

export async function renderRaster(key: string[], state: ViewState, status: (text: string) => void): Promise<HTMLElement> {
  const binMs = Math.max(0.1, Number(state.bin ?? 1) || 1);
  const view = await getJson<SpikeView>('/api/spikes', { key: keyParam(key), ids: state.ids, where: state.where, start: state.start, bin: binMs });
  const all = view.trials.flatMap((t) => t.times);
  // A loop, not Math.min(...all): past ~125,000 spikes the spread overflows the stack.
  let first = Infinity;
  let last = -Infinity;
  for (const t of all) { if (t < first) first = t; if (t > last) last = t; }
  const lo = all.length === 0 ? 0 : Math.floor(first);
  const hi = Math.ceil(all.length === 0 ? 1 : last) + binMs;
  status(`${view.selected} trial(s), ${all.length} spike(s), PSTH bin ${binMs} ms`);
  const width = 900;
  const raster = h('canvas', { width, height: Math.min(600, Math.max(120, view.trials.length * 4 + 40)), class: 'raster', 'data-plot': 'raster' });
  const psth = h('canvas', { width, height: 200, class: 'psth', 'data-plot': 'psth' });
  const x = (t: number): number => 50 + ((t - lo) / (hi - lo)) * (width - 60);
  drawRaster(raster, view, x, lo, hi);
  drawPsth(psth, view, x, lo, hi);
  return h('div', { class: 'spikes' }, h('h3', {}, 'Spike raster'), raster, h('h3', {}, `PSTH (${binMs} ms bins)`), psth);
}

function axis(ctx: CanvasRenderingContext2D, x: (t: number) => number, lo: number, hi: number, y: number): void {
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  const step = niceStep((hi - lo) / 8);
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
    ctx.fillRect(x(t), y, 1, 4);
    ctx.fillText(String(Math.round(t * 100) / 100), x(t) - 10, y + 15);
  }
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
}

function drawRaster(canvas: HTMLCanvasElement, view: SpikeView, x: (t: number) => number, lo: number, hi: number): void {
  const ctx = canvas.getContext('2d')!;
  const rows = Math.max(1, view.trials.length);
  const rowH = (canvas.height - 30) / rows;
  ctx.fillStyle = '#111';
  view.trials.forEach((trial, r) => {
    for (const t of trial.times) ctx.fillRect(x(t), 5 + r * rowH, 1.5, Math.max(1, rowH - 1));
  });
  axis(ctx, x, lo, hi, canvas.height - 24);
}

function drawPsth(canvas: HTMLCanvasElement, view: SpikeView, x: (t: number) => number, lo: number, hi: number): void {
  const ctx = canvas.getContext('2d')!;
  const psth = view.psth;
  if (psth === null) return;
  // counts are spikes per trial per bin (ISF's temporal binning, normalised); shown as a rate.
  const rates = psth.counts.map((count) => count / (psth.binSize / 1000));
  const top = Math.max(1, ...rates);
  const plotH = canvas.height - 40;
  ctx.fillStyle = '#1f77b4';
  rates.forEach((rate, i) => {
    const left = psth.borders[i]!;
    const right = psth.borders[i + 1]!;
    const height = (rate / top) * plotH;
    ctx.fillRect(x(left), 10 + plotH - height, Math.max(1, x(right) - x(left) - 0.5), height);
  });
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  ctx.fillText(`${top.toFixed(0)} Hz`, 2, 18);
  axis(ctx, x, lo, hi, canvas.height - 28);
}

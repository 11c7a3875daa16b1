/**
 * Voltage traces (and dendritic recordings) with uPlot. The server sends min/max pairs per pixel
 * bin, so whatever the number of time points the canvas draws ~2 points per pixel per trace;
 * zooming (drag a range) asks again for that window at full resolution.
 */
import uPlot from 'uplot';
import { getJson, keyParam, type TraceView } from './api.js';
import { h } from './dom.js';
import type { ViewState } from './state.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export interface PlotHandle { element: HTMLElement; destroy(): void }

export function renderTraces(key: string[], state: ViewState, status: (text: string) => void, onWindow: (t0?: number, t1?: number) => void): PlotHandle {
  const box = h('div', { class: 'plot', 'data-plot': 'traces' });
  let plot: uPlot | undefined;
  let request = 0;
  let fetching = false;

  const load = async (t0?: number, t1?: number): Promise<void> => {
    const mine = ++request;
    const width = Math.max(300, box.clientWidth || 900);
    status('loading traces...');
    fetching = true;
    let view: TraceView;
    try {
      view = await getJson<TraceView>('/api/traces', {
        key: keyParam(key), ids: state.ids, where: state.where, start: state.start, t0, t1, bins: Math.min(4000, Math.round(width)),
      });
    } catch (err) {
      status(`error: ${(err as Error).message}`);
      return;
    } finally {
      fetching = false;
    }
    if (mine !== request) return;
    const data = [view.times, ...view.traces.map((trace) => trace.y)] as uPlot.AlignedData;
    status(`${view.shown} of ${view.selected} selected trial(s) shown · ${view.points.toLocaleString()} time points${view.decimated ? ` · min/max decimated to ${view.times.length} points per trace` : ''}`);
    if (plot && plot.series.length === view.traces.length + 1) {
      plot.setData(data, false);
      if (t0 !== undefined && t1 !== undefined) plot.setScale('x', { min: t0, max: t1 });
      else plot.setScale('x', { min: view.times[0] ?? 0, max: view.times[view.times.length - 1] ?? 1 });
      return;
    }
    plot?.destroy();
    plot = new uPlot({
      width, height: 420,
      legend: { show: view.traces.length <= 12 },
      cursor: { drag: { x: true, y: false, setScale: true } },
      scales: { x: { time: false } },
      axes: [{ label: 'time (ms)' }, { label: 'membrane potential (mV)' }],
      series: [{ label: 't' }, ...view.traces.map((trace, i) => ({
        label: String(trace.id), stroke: COLORS[i % COLORS.length]!, width: 1, points: { show: false }, spanGaps: false,
      }))],
      hooks: {
        setSelect: [() => undefined],
        setScale: [(u: uPlot, scaleKey: string) => {
          if (scaleKey !== 'x' || fetching) return;
          const { min, max } = u.scales.x!;
          if (min === undefined || max === undefined || min === null || max === null) return;
          clearTimeout(timer);
          timer = setTimeout(() => {
            const full = min <= (view.times[0] ?? min) && max >= (view.times[view.times.length - 1] ?? max);
            onWindow(full ? undefined : min, full ? undefined : max);
            if (!full) void load(min, max);
          }, 150);
        }],
      },
    }, data, box);
    if (t0 !== undefined && t1 !== undefined) plot.setScale('x', { min: t0, max: t1 });
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  requestAnimationFrame(() => void load(num(state.t0), num(state.t1)));
  return { element: box, destroy: () => { clearTimeout(timer); plot?.destroy(); } };
}

function num(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}

/** The isfdb viewer: a single page whose whole state is in the URL (see state.ts). */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { getJson, keyParam, type FrameAnswer, type KeyDetails, type TreeNode } from './api.js';
import { clear, h } from './dom.js';
import { renderHistory } from './history.js';
import { renderLineage } from './lineage.js';
import { renderCode, renderProvenance } from './provenance.js';
import { renderRaster } from './raster.js';
import { readState, writeState, type ViewState } from './state.js';
import { renderTable } from './table.js';
import { renderTraces, type PlotHandle } from './traces.js';
import { renderTree } from './tree.js';

const root = document.getElementById('app')!;
const search = h('input', { type: 'search', id: 'key-search', placeholder: 'search keys', 'aria-label': 'search keys' });
const treeBox = h('div', { class: 'tree-box' });
const title = h('h1', { id: 'key-title' }, 'isfdb viewer');
const tabs = h('nav', { class: 'tabs', role: 'tablist' });
const controls = h('div', { class: 'controls' });
const statusLine = h('div', { class: 'status', id: 'status', role: 'status' });
const content = h('div', { class: 'content', id: 'content' });
const codeBox = h('div', { class: 'code-slot' });
let tree: TreeNode[] = [];
let info: { name: string; basedir: string; id: string } | undefined;
const detailsCache = new Map<string, Promise<KeyDetails>>();
let plot: PlotHandle | undefined;
let renderCount = 0;

root.replaceChildren(h('div', { class: 'layout' },
  h('aside', {}, h('header', { class: 'brand' }, h('b', {}, 'isfdb'), h('span', { id: 'db-name' }, '')), search, treeBox),
  h('main', {}, h('div', { class: 'key-head' }, title, tabs), controls, statusLine, content, codeBox)));

const setStatus = (text: string): void => { statusLine.textContent = text; };

search.addEventListener('input', () => {
  writeState({ q: search.value }, false);
  drawTree();
});
window.addEventListener('popstate', () => void render());

function drawTree(): void {
  const state = readState();
  clear(treeBox);
  treeBox.append(renderTree(tree, { selected: state.key, query: state.q ?? '', onSelect: (key) => navigate({ key: keyParam(key), tab: undefined, ids: undefined, where: undefined, start: undefined, t0: undefined, t1: undefined }) }));
}

function navigate(change: Partial<ViewState>): void {
  writeState(change);
  void render();
}

function details(key: string): Promise<KeyDetails> {
  let cached = detailsCache.get(key);
  if (!cached) {
    cached = getJson<KeyDetails>('/api/key', { key });
    cached.catch(() => detailsCache.delete(key));
    detailsCache.set(key, cached);
  }
  return cached;
}

function tabsFor(d: KeyDetails | undefined): Array<[string, string]> {
  const list: Array<[string, string]> = [];
  if (d?.view === 'traces' || d?.view === 'spikes') list.push(['plot', d.view === 'traces' ? 'Traces' : 'Raster & PSTH']);
  if (d?.shape) list.push(['table', 'Table']);
  if (d) list.push(['provenance', 'Provenance'], ['history', 'History']);
  list.push(['lineage', 'Lineage']);
  return list;
}

async function render(): Promise<void> {
  const mine = ++renderCount;
  const state = readState();
  search.value = state.q ?? '';
  drawTree();
  plot?.destroy();
  plot = undefined;
  clear(content); clear(controls); clear(codeBox); setStatus('');
  let d: KeyDetails | undefined;
  if (state.key) {
    try {
      d = await details(state.key);
    } catch (err) {
      if (mine !== renderCount) return;
      title.textContent = state.key;
      setStatus(`error: ${(err as Error).message}`);
      return;
    }
  }
  if (mine !== renderCount) return;
  title.textContent = state.key ?? info?.name ?? 'isfdb viewer';
  const available = tabsFor(d);
  const tab = available.some(([id]) => id === state.tab) ? state.tab! : available[0]![0];
  tabs.replaceChildren(...available.map(([id, label]) => h('button', {
    class: `tab${id === tab ? ' active' : ''}`, role: 'tab', 'data-tab': id, 'aria-selected': String(id === tab),
    onclick: () => navigate({ tab: id }),
  }, label)));
  if (d) codeBox.append(renderCode(d));
  if (!d && tab !== 'lineage') return;
  try {
    if (tab === 'plot' && d) {
      controls.append(trialControls(d, state));
      if (d.view === 'traces') {
        plot = renderTraces(d.key, state, setStatus, (t0, t1) => writeState({ t0: t0?.toFixed(3), t1: t1?.toFixed(3) }, false));
        content.append(plot.element);
      } else {
        content.append(await renderRaster(d.key, state, setStatus));
      }
    } else if (tab === 'table' && d?.shape) {
      const shape = d.shape.rows === null ? await getJson<{ rows: number; columns: number }>('/api/shape', { key: keyParam(d.key) }) : { rows: d.shape.rows, columns: d.shape.columns };
      content.append(renderTable(d.key, shape));
    } else if (tab === 'provenance' && d) {
      content.append(renderProvenance(d));
    } else if (tab === 'history' && d) {
      content.append(await renderHistory(d.key));
    } else if (tab === 'lineage') {
      content.append(await renderLineage(state.key, (key) => navigate({ key: keyParam(key), tab: 'provenance' })));
    }
  } catch (err) {
    setStatus(`error: ${(err as Error).message}`);
  }
}

/** Choose trials by id (typed or clicked), by a where expression, or by the first row shown. */
function trialControls(d: KeyDetails, state: ViewState): HTMLElement {
  const ids = h('input', { id: 'trial-ids', type: 'text', list: 'trial-id-list', placeholder: 'trial ids, comma-separated', value: state.ids ?? '', size: 40 });
  const where = h('input', { id: 'trial-where', type: 'text', placeholder: '{"sim_trial_index": {"regex": "C2"}}', value: state.where ?? '', size: 30 });
  const start = h('input', { id: 'trial-start', type: 'number', min: 0, placeholder: 'first row', value: state.start ?? '', style: 'width:7em' });
  const apply = (): void => navigate({ ids: ids.value.trim() || undefined, where: where.value.trim() || undefined, start: start.value || undefined, t0: undefined, t1: undefined });
  for (const input of [ids, where, start]) input.addEventListener('keydown', (e) => { if ((e as KeyboardEvent).key === 'Enter') apply(); });
  const list = h('datalist', { id: 'trial-id-list' });
  const chips = h('div', { class: 'chips' });
  void getJson<FrameAnswer>('/api/frame', { key: keyParam(d.key), columns: '', start: 0, stop: 200 }).then((firstIds) => {
    for (const id of firstIds.index) list.append(h('option', { value: String(id) }));
    for (const id of firstIds.index.slice(0, 12)) {
      chips.append(h('button', { class: `chip${state.ids?.split(',').includes(String(id)) ? ' on' : ''}`, 'data-trial': String(id), onclick: () => navigate({ ids: String(id), t0: undefined, t1: undefined }) }, String(id)));
    }
  }, () => undefined);
  const binInput = d.view === 'spikes' ? h('label', {}, 'PSTH bin (ms) ', h('input', { id: 'psth-bin', type: 'number', min: 0.1, step: 0.1, value: state.bin ?? '1', style: 'width:5em', onchange: (e: Event) => navigate({ bin: (e.target as HTMLInputElement).value }) })) : null;
  return h('div', { class: 'trial-controls' },
    h('label', {}, 'trials ', ids), list, h('label', {}, ' where ', where), h('label', {}, ' from row ', start),
    h('button', { id: 'trial-apply', onclick: apply }, 'show'),
    h('button', { onclick: () => navigate({ ids: undefined, where: undefined, start: undefined, t0: undefined, t1: undefined }) }, 'reset'),
    binInput, chips);
}

async function boot(): Promise<void> {
  // The view and the tree load side by side: a shared link to a plot need not wait for the tree.
  const view = render();
  try {
    const [i, t] = await Promise.all([getJson<{ name: string; basedir: string; id: string }>('/api/info'), getJson<TreeNode[]>('/api/tree')]);
    info = i;
    tree = t;
    document.getElementById('db-name')!.textContent = ` ${info.name}`;
    document.title = `isfdb · ${info.name}`;
    if (new URLSearchParams(location.search).has('token')) writeState({}, false); // the cookie carries it from here
    drawTree();
    if (!readState().key) title.textContent = info.name;
  } catch (err) {
    setStatus(`error: ${(err as Error).message}`);
  }
  await view;
}

void boot();

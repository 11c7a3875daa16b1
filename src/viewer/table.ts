/**
 * A virtualised table preview: only the cells in view exist in the DOM, and only they are fetched
 * (rows start..stop, columns colStart..colStop), so 10,000 columns scroll like 10.
 */
import { getJson, keyParam, type FrameAnswer } from './api.js';
import { h } from './dom.js';

const ROW_H = 24;
const COL_W = 96;
const INDEX_W = 220;

export function renderTable(key: string[], shape: { rows: number; columns: number }): HTMLElement {
  const viewport = h('div', { class: 'vtable', 'data-rows': shape.rows, 'data-columns': shape.columns });
  const spacer = h('div', { class: 'spacer' });
  spacer.style.width = `${INDEX_W + shape.columns * COL_W}px`;
  spacer.style.height = `${ROW_H + shape.rows * ROW_H}px`;
  const layer = h('div', { class: 'cells' });
  viewport.append(spacer, layer);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let request = 0;

  const cell = (text: string, x: number, y: number, w: number, cls: string): HTMLElement => {
    const el = h('div', { class: `cell ${cls}`, title: text }, text);
    el.style.transform = `translate(${x}px, ${y}px)`;
    el.style.width = `${w}px`;
    return el;
  };

  const draw = async (): Promise<void> => {
    const mine = ++request;
    const top = viewport.scrollTop;
    const left = viewport.scrollLeft;
    const r0 = Math.floor(top / ROW_H);
    const r1 = Math.min(shape.rows, r0 + Math.ceil(viewport.clientHeight / ROW_H) + 1);
    const c0 = Math.floor(left / COL_W);
    const c1 = Math.min(shape.columns, c0 + Math.ceil((viewport.clientWidth - INDEX_W) / COL_W) + 2);
    const block = await getJson<FrameAnswer>('/api/frame', { key: keyParam(key), start: r0, stop: Math.max(r0, r1), colStart: c0, colStop: c1 });
    if (mine !== request) return;
    const cells: HTMLElement[] = [];
    block.columns.forEach((name, j) => {
      cells.push(cell(name, INDEX_W + (c0 + j) * COL_W, top, COL_W, 'head'));
      block.index.forEach((_, i) => cells.push(cell(show(block.data[j]?.[i]), INDEX_W + (c0 + j) * COL_W, ROW_H + (r0 + i) * ROW_H, COL_W, 'value')));
    });
    block.index.forEach((id, i) => cells.push(cell(String(id), left, ROW_H + (r0 + i) * ROW_H, INDEX_W, 'index')));
    cells.push(cell(block.indexName, left, top, INDEX_W, 'head index'));
    layer.replaceChildren(...cells);
  };
  viewport.addEventListener('scroll', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void draw(), 40);
  });
  requestAnimationFrame(() => void draw());
  return h('section', { class: 'table-preview' },
    h('h2', {}, `Table (${shape.rows.toLocaleString()} rows x ${shape.columns.toLocaleString()} columns)`), viewport);
}

function show(value: unknown): string {
  if (value === null || value === undefined) return 'NaN';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(6);
  return String(value);
}

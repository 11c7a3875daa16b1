/** Short, human descriptions of stored values for `ls` and `show`. */
import { DataBase } from '../index.js';

const PREVIEW_ITEMS = 8;

/** One line: what a value is and how big. */
export function describeValue(value: unknown): string {
  if (value instanceof DataBase) return 'sub-database';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  if (isNdArray(value)) return `ndarray ${value.dtype} [${value.shape.join(', ')}]`;
  if (isTableLike(value)) return `table ${value.numRows} rows x ${value.numCols} columns`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value === null) return 'null';
  if (typeof value === 'object') return `object {${Object.keys(value).slice(0, PREVIEW_ITEMS).join(', ')}${Object.keys(value).length > PREVIEW_ITEMS ? ', ...' : ''}}`;
  if (typeof value === 'string') return `string(${value.length})`;
  return typeof value;
}

/** A few lines showing the start of a value. */
export function previewValue(value: unknown): string {
  if (isNdArray(value)) return previewList(value.data);
  if (ArrayBuffer.isView(value)) return previewList(value as unknown as ArrayLike<unknown>);
  if (isTableLike(value)) return value.slice(0, 5).toString();
  if (typeof value === 'string') return value.length > 200 ? `${JSON.stringify(value.slice(0, 200))}...` : JSON.stringify(value);
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : ArrayBuffer.isView(v) ? describeValue(v) : v), 2) ?? String(value);
  const lines = text.split('\n');
  return lines.length > 20 ? `${lines.slice(0, 20).join('\n')}\n...` : text;
}

function previewList(items: ArrayLike<unknown>): string {
  const shown = Array.from({ length: Math.min(items.length, PREVIEW_ITEMS) }, (_, i) => String(items[i]));
  return `[${shown.join(', ')}${items.length > PREVIEW_ITEMS ? `, ... (${items.length} items)` : ''}]`;
}

function isNdArray(value: unknown): value is { dtype: string; shape: number[]; data: ArrayLike<unknown> } {
  return typeof value === 'object' && value !== null && 'dtype' in value && 'shape' in value && 'data' in value;
}

interface TableLike { numRows: number; numCols: number; slice(a: number, b: number): { toString(): string } }

function isTableLike(value: unknown): value is TableLike {
  return typeof value === 'object' && value !== null && 'numRows' in value && 'numCols' in value && 'schema' in value;
}

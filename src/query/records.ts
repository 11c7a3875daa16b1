/**
 * The dialect over plain records (key metadata, results params): nested objects are addressed
 * by dotted names (`params.tau`), lists compare as their canonical JSON text.
 */
import { canonicalJson } from '../lineage.js';
import { columnOfValues, evaluateWhere } from './evaluate.js';
import { isPlainObject, normalizeWhere, type Where } from './where.js';

export type FlatRecord = Record<string, unknown>;

/** `{a: {b: 1}, c: [1, 2]}` -> `{'a.b': 1, c: '[1,2]'}`. */
export function flatten(value: Record<string, unknown>, prefix = '', out: FlatRecord = {}): FlatRecord {
  for (const [name, item] of Object.entries(value)) {
    const full = prefix === '' ? name : `${prefix}.${name}`;
    if (isPlainObject(item)) flatten(item, full, out);
    else if (Array.isArray(item)) out[full] = canonicalJson(item, full);
    else out[full] = item;
  }
  return out;
}

/**
 * The positions of the records matching `where`. A name is known when it is in `knownNames`,
 * starts with one of `openPrefixes` (absent there means missing), or some record has it.
 */
export function matchRecords(records: readonly FlatRecord[], where: Where, knownNames: readonly string[] = [], openPrefixes: readonly string[] = []): number[] {
  const normal = normalizeWhere(where);
  const names = new Set(knownNames);
  for (const record of records) for (const name of Object.keys(record)) names.add(name);
  const mask = evaluateWhere(normal, records.length, (name) => {
    if (!names.has(name) && !openPrefixes.some((p) => name.startsWith(p))) return undefined;
    return columnOfValues(records.map((r) => r[name] ?? null));
  }, () => [...names].sort());
  const out: number[] = [];
  for (let i = 0; i < records.length; i++) if (mask === undefined || mask[i]) out.push(i);
  return out;
}

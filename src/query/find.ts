/**
 * `db.find(where)`: the dialect over key metadata. Each key (recursively, sub-database keys
 * included as tuple keys) is a record of its loader, write time (ISO 8601, UTC), git commit and
 * describe string, dirty flag, host, and the `params` recorded by maybeCalculate or a results
 * collection, addressed as `params.<name>`.
 */
import type { DataBase } from '../database.js';
import { RECIPE_FIELD } from '../lineage.js';
import type { MetadataJson } from '../ondisk.js';
import { flatten, matchRecords } from './records.js';
import { isPlainObject, type Where } from './where.js';

export interface FoundKey {
  key: string[];
  loader: string;
  /** When the value was written, as `YYYY-MM-DDTHH:MM:SSZ` (null when unknown). */
  time: string | null;
  commit: string | null;
  version: string | null;
  dirty: boolean | null;
  host: string | null;
  /** The params of maybeCalculate or of a results entry (undefined when none were recorded). */
  params?: unknown;
}

export const FIND_FIELDS = ['key', 'loader', 'time', 'commit', 'version', 'dirty', 'host'] as const;

export async function findKeys(db: DataBase, where: Where): Promise<FoundKey[]> {
  const found: FoundKey[] = [];
  for (const key of await db.keys({ recurse: true })) found.push(describeKey(key, await db.metadata(key)));
  const records = found.map((f) => ({
    ...flatten(isPlainObject(f.params) ? { params: f.params } : {}),
    ...(f.params !== undefined && !isPlainObject(f.params) ? { params: f.params } : {}),
    key: f.key.join('/'), loader: f.loader, time: f.time, commit: f.commit, version: f.version, dirty: f.dirty, host: f.host,
  }));
  return matchRecords(records, where, FIND_FIELDS, ['params.']).map((i) => found[i]!);
}

function describeKey(key: string[], meta: MetadataJson): FoundKey {
  const recipe = (meta as Record<string, unknown>)[RECIPE_FIELD];
  const params = isPlainObject(recipe) && recipe['params'] !== null ? recipe['params'] : undefined;
  return {
    key,
    loader: meta.dumper.split('.').pop() ?? meta.dumper,
    time: isoTime(meta.time),
    commit: meta['full-revisionid'] ?? null,
    version: meta.version ?? null,
    dirty: meta.dirty ?? null,
    host: meta.hostname ?? null,
    ...(params === undefined ? {} : { params }),
  };
}

/** ISF's time tuple [Y, M, D, h, m, s, ...] (UTC) as ISO 8601; strings pass. */
function isoTime(time: MetadataJson['time']): string | null {
  if (time === undefined) return null;
  if (typeof time === 'string') return time;
  const [y, mo, d, h, mi, s] = time;
  const two = (n: number | undefined): string => String(n ?? 0).padStart(2, '0');
  return `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(s)}Z`;
}

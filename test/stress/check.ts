/** Reading back what a key holds and comparing it with a model state; helpers shared by the harnesses. */
import fsSync from 'node:fs';
import path from 'node:path';
import { DataBase, isDataBaseError } from '../../src/index.js';
import type { KeyState } from './crash-model.js';
import { LOADER_OF_KIND, digestOfLoaded, digestOfSpec, kindOfLoader, specOfLoaded, type ValueSpec } from './values.js';

export type Observed = { state: KeyState; problem?: string };

/** What `key` ('a' or 's1/x0') holds in `db`; `problem` when it holds something torn or unexpected. */
export async function observe(db: DataBase, key: string, candidates: ValueSpec[]): Promise<Observed> {
  const parts = key.split('/');
  const k = parts.length === 1 ? parts[0]! : parts;
  if (!(await db.has(k))) {
    const folder = await db.folderOf(k);
    if (fsSync.existsSync(folder)) return { state: { t: 'absent' }, problem: `folder ${folder} exists without Loader.json` };
    return { state: { t: 'absent' } };
  }
  let loader: string;
  try {
    loader = await db.loaderOf(k);
  } catch (err) {
    return { state: { t: 'absent' }, problem: `loaderOf failed: ${(err as Error).message}` };
  }
  if (loader === 'just_create_isf_db') return { state: { t: 'subdb' } };
  if (loader === 'just_create_folder') return { state: { t: 'folder' } };
  const kind = kindOfLoader(loader);
  if (kind === undefined) return { state: { t: 'absent' }, problem: `unexpected loader ${loader}` };
  let loaded: unknown;
  try {
    loaded = await db.get(k);
  } catch (err) {
    return { state: { t: 'absent' }, problem: `get failed: ${(err as Error).message}` };
  }
  const digest = digestOfLoaded(kind, loaded);
  const meta = await db.metadata(k);
  if (meta.dumper !== loader) return { state: { t: 'absent' }, problem: `metadata dumper ${meta.dumper} but loader ${loader}` };
  for (const spec of candidates) {
    if (spec.kind === kind && digestOfSpec(spec) === digest) return { state: { t: 'data', spec } };
  }
  const claimed = specOfLoaded(kind, loaded);
  return { state: { t: 'absent' }, problem: `holds a ${kind} value (claims #${claimed?.id ?? '?'}) matching none of the ${candidates.length} candidate value(s): torn or wrong` };
}

/** Every `*.lock` below `dir` (not following links). */
export function findLocks(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string): void => {
    let entries: fsSync.Dirent[];
    try { entries = fsSync.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.name.endsWith('.lock')) out.push(full);
      else if (e.isDirectory()) visit(full);
    }
  };
  visit(dir);
  return out;
}

export function typedOr(err: unknown): string {
  return isDataBaseError(err) ? err._tag : `UNTYPED ${(err as Error)?.stack ?? String(err)}`;
}

export { LOADER_OF_KIND };

/**
 * One sub-database of more keys than a function call takes arguments (~125,000): setMany writes
 * them in one batch, the walkers list and verify them all, and a second batch overwrites them.
 * (Each of those once spread a whole batch or listing into one call and overflowed the stack.)
 * fsync is off: the point is the count, not the disk.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { DataBase, Registry } from '../../src/index.js';

export interface ScaleOptions { root: string; registryDir: string; keys: number; log?: (line: string) => void }
export interface ScaleFigures {
  keys: number;
  setManyMs: number;
  listMs: number;
  verifyMs: number;
  fsckMs: number;
  overwriteMs: number;
  failures: string[];
}

export async function runScale(options: ScaleOptions): Promise<ScaleFigures> {
  const log = options.log ?? (() => undefined);
  fsSync.mkdirSync(options.root, { recursive: true });
  const f: ScaleFigures = { keys: options.keys, setManyMs: -1, listMs: -1, verifyMs: -1, fsckMs: -1, overwriteMs: -1, failures: [] };
  const fail = (msg: string): void => { f.failures.push(msg); log(`  FAIL ${msg}`); };
  const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
    const t = Date.now();
    const out = await run();
    return [out, Date.now() - t];
  };
  const db = await DataBase.open(path.join(options.root, 'scale-db'), { registry: new Registry(options.registryDir), fsync: false });
  const entries = Array.from({ length: options.keys }, (_, i) => ({ key: ['trials', `t${i}`], value: i }));
  try {
    [, f.setManyMs] = await timed(() => db.setMany(entries));
    const [listed, listMs] = await timed(() => db.keys({ recurse: true }));
    f.listMs = listMs;
    if (listed.length !== options.keys) fail(`keys({ recurse: true }) listed ${listed.length} keys, not ${options.keys}`);
    const sub = await db.get('trials') as DataBase;
    if ((await sub.keys()).length !== options.keys) fail(`the sub-database lists ${(await sub.keys()).length} keys, not ${options.keys}`);
    const [report, verifyMs] = await timed(() => db.verify());
    f.verifyMs = verifyMs;
    if (!report.ok || report.keysVerified !== options.keys) fail(`verify: ok ${report.ok}, ${report.keysVerified} keys verified of ${options.keys}`);
    const [fsck, fsckMs] = await timed(() => db.fsck());
    f.fsckMs = fsckMs;
    if (fsck.findings.length > 0) fail(`fsck found ${fsck.findings.map((x) => x.kind).join(', ')}`);
    [, f.overwriteMs] = await timed(() => db.setMany(entries.map((e) => ({ ...e, value: -e.value }))));
    const last = options.keys - 1;
    if (await db.get(['trials', `t${last}`]) !== -last) fail(`t${last} was not overwritten`);
  } catch (e) {
    fail(`${(e as Error).name}: ${(e as Error).message}`);
  }
  return f;
}

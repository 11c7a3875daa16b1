import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Table } from 'apache-arrow';

const here = path.dirname(fileURLToPath(import.meta.url));
/** the repository root: test/simrun/.. /.. from the sources, dist/test/simrun/../../.. from the build */
const REPO = path.basename(path.resolve(here, '..', '..')) === 'dist' ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..', '..');
/** ../shared relative to the repository root */
export const SHARED = path.resolve(REPO, '..', 'shared');
export const FIXTURE = path.join(SHARED, 'fixtures', 'isf-simrun-subsampled');
export const HAVE_FIXTURE = existsSync(FIXTURE);

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `isfdb-${prefix}-`));
}

export async function copyFixture(): Promise<string> {
  const dir = await tempDir('fixture');
  await cp(FIXTURE, dir, { recursive: true });
  return dir;
}

export async function cleanup(...dirs: string[]): Promise<void> {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}

/** Every row of every partition, as plain objects (tests only: small data). */
export async function rowsOf(value: unknown): Promise<Record<string, unknown>[]> {
  const tables: Table[] = [];
  if (value && typeof value === 'object' && Symbol.asyncIterator in value) {
    for await (const t of value as AsyncIterable<Table>) tables.push(t);
  } else tables.push(value as Table);
  const rows: Record<string, unknown>[] = [];
  for (const t of tables) {
    const names = t.schema.fields.map((f) => f.name);
    const cols = names.map((n) => t.getChild(n)!);
    for (let i = 0; i < t.numRows; i++) {
      const row: Record<string, unknown> = {};
      names.forEach((n, j) => { row[n] = cols[j]!.get(i); });
      rows.push(row);
    }
  }
  return rows;
}

export function columnNames(t: Table): string[] {
  return t.schema.fields.map((f) => f.name);
}

/** A simple independent parse: split on whitespace, skip the header. */
export async function readTraceFile(file: string): Promise<number[][]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/).map(Number));
}

export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...await listFiles(p));
    else out.push(p);
  }
  return out;
}

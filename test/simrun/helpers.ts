import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Table } from 'apache-arrow';
import { readFile as readText, writeFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { DataBase, type InvalidInputError, isDataBaseError } from '../../src/index.js';
import { generateCampaign, initSimrun, type InitSimrunOptions } from '../../initializers/index.js';

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

/**
 * A small campaign (two run folders of 4 trials, one dendritic site), broken by `breakIt` in
 * its first nested run folder, then init: must throw an InvalidInputError matching `message`
 * and leave the database empty.
 */
export async function expectRefused(breakIt: (raw: string, folder: string) => Promise<void>, message: RegExp, options: InitSimrunOptions = {}): Promise<InvalidInputError> {
  const raw = await tempDir('bad');
  const dbDir = await tempDir('bad-db');
  try {
    const summary = await generateCampaign(raw, { trials: 8, trialsPerFolder: 4, timePoints: 60, seed: 3, dendriticSites: 1 });
    const folder = path.join(raw, summary.runFolders.find((f) => f !== '')!);
    await breakIt(raw, folder);
    const db = await DataBase.open(dbDir);
    let err: unknown;
    try {
      await initSimrun(raw, db, { quiet: true, workers: 2, ...options });
    } catch (e) {
      err = e;
    }
    expect(isDataBaseError(err, 'InvalidInputError'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(message);
    expect(await db.keys()).toEqual([]);
    // only the database's own state (and the store's internal, empty staging folder) remain
    const left = (await readdir(dbDir)).filter((f) => f !== 'db_state.json' && !f.startsWith('.isfdb'));
    expect(left).toEqual([]);
    for (const f of (await readdir(dbDir)).filter((x) => x.startsWith('.isfdb'))) expect(await readdir(path.join(dbDir, f))).toEqual([]);
    return err as InvalidInputError;
  } finally {
    await cleanup(raw, dbDir);
  }
}

export async function vmFile(folder: string): Promise<string> {
  return path.join(folder, (await readdir(folder)).find((f) => f.endsWith('_vm_all_traces.csv'))!);
}

export async function editLine(file: string, line: number, edit: (l: string) => string): Promise<void> {
  const lines = (await readText(file, 'utf8')).split('\n');
  lines[line - 1] = edit(lines[line - 1]!);
  await writeFile(file, lines.join('\n'));
}

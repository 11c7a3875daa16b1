/**
 * The history folder of kept values: `<db>/.isfdb.deleting.history/<key>/<n>/`. The name holds
 * `.deleting.`, so Python ISF (and our keys()) never list it. Version numbers are given when a
 * value leaves the current place (1, 2, 3, ...) and never reused (a counter file remembers the
 * last one). These are the filesystem moves only; listing and describing versions is history.ts.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DELETING_MARK } from '../keys.js';
import { randomToken, replaceFileAtomically, syncDirectory } from './durable.js';

/**
 * The folder (in every database and sub-database folder) holding earlier values of its keys.
 * Cleanup of `*.deleting.*` debris (fsck) must leave it alone.
 */
export const HISTORY_FOLDER = `.isfdb${DELETING_MARK}history`;
/** In a key's history folder: the last version number given, so numbers are never reused. */
const COUNTER_FILE = 'last-version';
const VERSION_NAME = /^[1-9][0-9]*$/;

export function historyDir(dbDir: string, name: string): string {
  return path.join(dbDir, HISTORY_FOLDER, name);
}

export function versionFolder(dbDir: string, name: string, version: number): string {
  return path.join(historyDir(dbDir, name), String(version));
}

export function isVersionName(text: string): boolean {
  return VERSION_NAME.test(text);
}

/** Version numbers kept for key folder `name`, ascending. */
export async function listVersionNumbers(dbDir: string, name: string): Promise<number[]> {
  const entries = await fs.readdir(historyDir(dbDir, name), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && VERSION_NAME.test(e.name)).map((e) => Number(e.name)).sort((a, b) => a - b);
}

/** Rename a value folder into the history under the next number; returns that number. */
export async function moveIntoHistory(dbDir: string, name: string, folder: string): Promise<number> {
  const dir = historyDir(dbDir, name);
  await fs.mkdir(dir, { recursive: true });
  const version = await nextVersionNumber(dbDir, name);
  await replaceFileAtomically(path.join(dir, COUNTER_FILE), `${version}\n`);
  await fs.rename(folder, path.join(dir, String(version)));
  await syncDirectory(dir);
  await syncDirectory(dbDir);
  return version;
}

async function nextVersionNumber(dbDir: string, name: string): Promise<number> {
  const numbers = await listVersionNumbers(dbDir, name);
  const counter = Number((await fs.readFile(path.join(historyDir(dbDir, name), COUNTER_FILE), 'utf8').catch(() => '0')).trim());
  return Math.max(Number.isFinite(counter) ? counter : 0, ...numbers) + 1;
}

/** Keep only the newest `keep` versions of key folder `name`. Returns the removed numbers. */
export async function pruneHistory(dbDir: string, name: string, keep: number): Promise<number[]> {
  const numbers = await listVersionNumbers(dbDir, name);
  const excess = numbers.slice(0, Math.max(0, numbers.length - Math.max(0, keep)));
  for (const version of excess) {
    // Rename first so a listing never shows half a version, then remove.
    const doomed = path.join(historyDir(dbDir, name), `.pruning-${version}-${randomToken(5)}`);
    await fs.rename(versionFolder(dbDir, name, version), doomed);
    await fs.rm(doomed, { recursive: true, force: true });
  }
  return excess;
}

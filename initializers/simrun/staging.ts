/**
 * The folder where the threads write encoded partitions before the main thread moves them into
 * their keys: inside the database folder (nothing is written outside the folder the user named,
 * and moves are renames), named as the store names its own folders (`.isfdb.deleting.*`: never
 * listed as a key, not debris), with the host and process that own it. Staging folders left by
 * a process of this host that died are removed first; other hosts' are theirs to judge.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const PREFIX = '.isfdb.deleting.simrun-';

/** This host's name as a file name part (no separator, no '-', which ends it). */
const host = (): string => os.hostname().replace(/[^A-Za-z0-9_.]/g, '_');

export async function makeStaging(basedir: string): Promise<string> {
  const mine = `${PREFIX}${host()}-`;
  for (const name of await readdir(basedir).catch(() => [] as string[])) {
    if (!name.startsWith(mine)) continue;
    const pid = Number(name.slice(mine.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await rm(path.join(basedir, name), { recursive: true, force: true }).catch(() => undefined);
  }
  return mkdtemp(path.join(basedir, `${mine}${process.pid}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The folder where the threads write encoded partitions before the main thread moves them into
 * their keys: inside the database folder (nothing is written outside the folder the user named,
 * and moves are renames), named as the store names its own folders (`.isfdb.deleting.*`: never
 * listed as a key, not debris). Staging folders left by a process that died are removed first.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

const PREFIX = '.isfdb.deleting.simrun-';

export async function makeStaging(basedir: string): Promise<string> {
  for (const name of await readdir(basedir).catch(() => [] as string[])) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await rm(path.join(basedir, name), { recursive: true, force: true }).catch(() => undefined);
  }
  return mkdtemp(path.join(basedir, `${PREFIX}${process.pid}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The folder where workers write encoded partitions before the main thread moves them into
 * their keys: beside the database (same filesystem, so moves are renames), else in the temp
 * folder. Staging folders left by a process that died are removed first.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export async function makeStaging(basedir: string): Promise<string> {
  const parent = path.dirname(basedir);
  const prefix = `.${path.basename(basedir)}.simrun-staging-`;
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
  try {
    return await mkdtemp(path.join(parent, `${prefix}${process.pid}-`));
  } catch {
    return mkdtemp(path.join(os.tmpdir(), `isfdb-simrun-staging-${process.pid}-`));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Scratch folders: one process's temporary folder inside a database folder, for work whose files
 * end up in keys by rename (initSimrun stages its encoded partitions there). Named
 * `.isfdb.deleting.<purpose>-<host>-<pid>-<random>`: the `.deleting.` mark keeps it out of every
 * key listing, ours and Python ISF's, and the host and pid say whose it is. A scratch folder left
 * by a process that died is removed by the next one made on the same host, or by fsck --repair.
 * Another host's is never touched: its pid means nothing here (a database on a shared file system).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const PREFIX = '.isfdb.deleting.';
/** What a scratch folder is for, as part of its name: lower-case letters. */
export const SCRATCH_PURPOSE = /^[a-z]+$/;
const NAME = /^\.isfdb\.deleting\.([a-z]+)-([A-Za-z0-9_.]+)-(\d+)-[A-Za-z0-9]+$/;

/** This host's name as a file name part (no separator, no '-', which ends it). */
export function hostPart(): string {
  return os.hostname().replace(/[^A-Za-z0-9_.]/g, '_') || 'host';
}

export interface ScratchOwner {
  purpose: string;
  host: string;
  pid: number;
}

/** Whose scratch folder `name` is, or undefined when it is not one. */
export function scratchOwner(name: string): ScratchOwner | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const pid = Number(match[3]);
  return Number.isSafeInteger(pid) && pid > 0 ? { purpose: match[1]!, host: match[2]!, pid } : undefined;
}

/** Whether a process of this host with this pid may still run (EPERM: it runs under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a scratch folder of this owner was left by a process of this host that has died. */
export function isAbandoned(owner: ScratchOwner): boolean {
  return owner.host === hostPart() && owner.pid !== process.pid && !processAlive(owner.pid);
}

/**
 * A new scratch folder of this process in `basedir` (which exists), for `purpose` (checked by the
 * caller against SCRATCH_PURPOSE). The abandoned scratch folders of this host are removed first.
 */
export async function makeScratchFolder(basedir: string, purpose: string): Promise<string> {
  for (const name of await readdir(basedir)) {
    const owner = scratchOwner(name);
    if (owner !== undefined && isAbandoned(owner)) await rm(path.join(basedir, name), { recursive: true, force: true }).catch(() => undefined);
  }
  return mkdtemp(path.join(basedir, `${PREFIX}${purpose}-${hostPart()}-${process.pid}-`));
}

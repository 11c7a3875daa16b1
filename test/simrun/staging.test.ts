/**
 * initSimrun stages its encoded partitions inside the database folder: nothing is written beside
 * it (the folder the user named is the database), the staging folder is gone afterwards, and one
 * left by a process of this host that died is removed, while a live process's and another host's
 * are kept.
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { generateCampaign, initSimrun } from '../../initializers/index.js';
import { cleanup, tempDir } from './helpers.js';

let raw: string;
let parent: string;
beforeAll(async () => {
  [raw, parent] = [await tempDir('staging-raw'), await tempDir('staging-parent')];
  await generateCampaign(raw, { trials: 6, trialsPerFolder: 2, timePoints: 50, seed: 11, dendriticSites: 1 });
});
afterAll(() => cleanup(raw, parent));

describe('initSimrun staging', () => {
  it('stays inside the database folder, and cleans what a dead process left', async () => {
    const dbDir = path.join(parent, 'db');
    const db = await DataBase.open(dbDir);
    const mine = `.isfdb.deleting.simrun-${os.hostname().replace(/[^A-Za-z0-9_.]/g, '_')}-`;
    const dead = path.join(dbDir, `${mine}999999999-abc`);
    const live = path.join(dbDir, `${mine}${process.ppid}-xyz`);
    // another host's process, whatever its pid: not this host's to judge
    const elsewhere = path.join(dbDir, '.isfdb.deleting.simrun-otherhost-999999999-abc');
    await mkdir(path.join(dead, '0'), { recursive: true });
    await mkdir(live);
    await mkdir(elsewhere);
    const seen: string[][] = [];
    await initSimrun(raw, db, {
      quiet: true,
      onProgress: (e) => {
        if (e.phase !== 'parse') return;
        // listed synchronously, while the run is at this point
        seen.push(readdirSync(parent), readdirSync(dbDir).filter((n) => n.includes('simrun-')));
      },
    });
    // while partitions were staged: the parent held the database alone, the staging folder was inside it
    expect(seen.length).toBeGreaterThan(0);
    for (let i = 0; i < seen.length; i += 2) {
      expect(seen[i]).toEqual(['db']);
      expect(seen[i + 1]!.some((n) => n.startsWith(`${mine}${process.pid}-`))).toBe(true);
    }
    expect(await readdir(parent)).toEqual(['db']);
    const left = (await readdir(dbDir)).filter((n) => n.includes('simrun-'));
    expect(left.sort()).toEqual([path.basename(live), path.basename(elsewhere)].sort());
    expect(await db.keys()).toContain('voltage_traces');
    expect((await db.keys()).some((k) => k.includes('simrun-'))).toBe(false);
  }, 60_000);

  it('a key of another kind where a managed folder goes: refused with its name, nothing written through it, nothing writing after the run returns', async () => {
    const dbDir = path.join(parent, 'db-conflict');
    const outside = path.join(parent, 'outside');
    await mkdir(outside);
    const db = await DataBase.open(dbDir);
    // a string key that happens to hold a folder's path is not a managed folder
    await db.set('morphology', outside);
    await expect(initSimrun(raw, db, { quiet: true })).rejects.toMatchObject({ _tag: 'KeyTypeConflictError', message: expect.stringContaining('morphology') });
    const listing = (): string[] => readdirSync(dbDir, { recursive: true }).map(String).sort();
    const atReturn = listing();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(listing()).toEqual(atReturn);
    expect(await readdir(outside)).toEqual([]);
    expect(await db.get('morphology')).toBe(outside);
    expect(atReturn.filter((n) => n.includes('simrun-'))).toEqual([]);
    expect((await db.fsck()).findings).toEqual([]);
  }, 60_000);
});

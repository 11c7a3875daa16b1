/** verify covers managed folders: files the library wrote are checked; folders filled by users are named as unverified. */
import fsSync from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase, describeFinding, generateCampaign, initSimrun } from '../../src/index.js';
import { cleanupTemp, makeTemp, sandbox, type Sandbox } from '../core/helpers.js';
import { isfdb } from '../cli/helpers.js';

const MANAGED = ['con_folder', 'morphology', 'parameterfiles_cell_folder', 'parameterfiles_network_folder', 'recsites_folder', 'syn_folder'];

let sb: Sandbox;
let db: DataBase;
beforeEach(async () => {
  sb = await sandbox();
  const raw = path.join(await makeTemp('isfdb-vm-raw-'), 'campaign');
  await generateCampaign(raw, { trials: 4, trialsPerFolder: 2, timePoints: 20 });
  db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
  await initSimrun(raw, db, { quiet: true, workers: 0 });
}, 60_000);
afterEach(cleanupTemp);

describe('verify and managed folders', { timeout: 60_000 }, () => {
  it("initSimrun's managed folders carry checksums and verify clean", async () => {
    const report = await db.verify();
    expect(report.findings.map(describeFinding)).toEqual([]);
    for (const key of MANAGED) {
      expect(Object.keys(((await db.metadata(key)) as Record<string, unknown>)['isfdb_checksums'] as object).length, key).toBeGreaterThanOrEqual(key === 'recsites_folder' ? 0 : 1);
    }
  });

  it('a corrupted morphology or parameter file is found, by file', async () => {
    const morphology = (await db.get('morphology')) as string;
    const file = fsSync.readdirSync(morphology, { recursive: true, withFileTypes: true }).find((e) => e.isFile() && e.name.endsWith('.hoc'))!;
    const target = path.join(file.parentPath, file.name);
    fsSync.appendFileSync(target, '// tampered\n');
    const report = await db.verify();
    expect(report.ok).toBe(false);
    expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'checksum-mismatch', key: ['morphology'], file: target }));
    const cli = isfdb(['verify', db.basedir], { env: { ISFDB_REGISTRY: sb.registryDir } });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(target);
  });

  it('folders filled by users are reported as unverified by name; files added to a recorded folder too', async () => {
    const figures = await db.createManagedFolder('figures');
    fsSync.writeFileSync(path.join(figures, 'fig1.png'), 'png');
    fsSync.writeFileSync(path.join((await db.get('syn_folder')) as string, 'my-notes.txt'), 'notes');
    const report = await db.verify();
    expect(report.ok).toBe(true);
    const notes = report.findings.map(describeFinding);
    expect(notes).toContain('figures: unverified: managed folder filled by its user: no checksums recorded');
    expect(notes).toContain('syn_folder: unverified: managed folder: files added after its checksums were recorded: my-notes.txt');
  });
});

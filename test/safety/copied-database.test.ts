/** A copied database never silently takes its original's id: it gets its own; fsck reports two folders with one id. */
import fsSync from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase, describeFsckFinding } from '../../src/index.js';
import { cleanupTemp, sandbox, type Sandbox } from '../core/helpers.js';
import { isfdb, snapshot } from '../cli/helpers.js';

let sb: Sandbox;
let original: DataBase;
let subId: string;
beforeEach(async () => {
  sb = await sandbox();
  original = await DataBase.open(path.join(sb.root, 'original'), { registry: sb.registry });
  await original.set('x', { a: 1 });
  subId = (await original.createSubDb('sub')).id;
  await original.set(['sub', 'y'], 2);
});
afterEach(cleanupTemp);

function copyOf(db: DataBase, name: string): string {
  const copy = path.join(sb.root, name);
  fsSync.cpSync(db.basedir, copy, { recursive: true });
  return copy;
}

describe('opening a copy of a database read-write', () => {
  it('gives the copy (and its sub-databases) ids of their own; the original keeps its id and registration', async () => {
    const copyDir = copyOf(original, 'copy');
    const before = snapshot(original.basedir);
    const copy = await DataBase.open(copyDir, { registry: sb.registry });
    expect(copy.id).not.toBe(original.id);
    expect(await sb.registry.lookup(original.id)).toBe(original.basedir);
    expect(await sb.registry.lookup(copy.id)).toBe(copy.basedir);
    const copySub = (await copy.get('sub')) as DataBase;
    expect(copySub.id).not.toBe(subId);
    expect(await sb.registry.lookup(subId)).toBe(path.join(original.basedir, 'sub', 'db'));
    expect(await copy.get(['sub', 'y'])).toBe(2);
    expect(snapshot(original.basedir)).toEqual(before);
    expect((await DataBase.byId(original.id, { registry: sb.registry })).basedir).toBe(original.basedir);
  });

  it('a moved database keeps its id, and the same folder through a symbolic link is not a copy', async () => {
    const linked = path.join(sb.root, 'via-link');
    fsSync.symlinkSync(original.basedir, linked);
    expect((await DataBase.open(linked, { registry: sb.registry })).id).toBe(original.id);
    const moved = path.join(sb.root, 'moved');
    fsSync.renameSync(original.basedir, moved);
    const reopened = await DataBase.open(moved, { registry: sb.registry });
    expect(reopened.id).toBe(original.id);
    expect(await sb.registry.lookup(original.id)).toBe(moved);
  });
});

describe('fsck and copies', () => {
  it('reports a copy (never opened read-write) and --repair gives it its own id', async () => {
    const copyDir = copyOf(original, 'copy');
    const report = await (await DataBase.open(copyDir, { readonly: true, registry: sb.registry })).fsck();
    const found = report.findings.filter((f) => f.kind === 'duplicate-id');
    expect(found.map((f) => f.path).sort()).toEqual([copyDir, path.join(copyDir, 'sub', 'db')]);
    expect(describeFsckFinding(found[0]!)).toContain(`isfdb fsck ${found[0]!.path} --repair gives`);
    expect(report.clean).toBe(false);
    const cli = isfdb(['fsck', copyDir, '--repair'], { env: { ISFDB_REGISTRY: sb.registryDir } });
    expect(cli.stdout).toMatch(/holds id .* -> new-id/);
    const after = await (await DataBase.open(copyDir, { readonly: true, registry: sb.registry })).fsck();
    expect(after.findings).toEqual([]);
    expect(await sb.registry.lookup(original.id)).toBe(original.basedir);
  });

  it('reports the original whose id a copy took (as older versions and Python ISF do on open)', async () => {
    const copyDir = copyOf(original, 'copy');
    await sb.registry.register(original.id, copyDir);
    const report = await original.fsck();
    const finding = report.findings.find((f) => f.kind === 'duplicate-id' && f.path === original.basedir);
    expect(finding).toMatchObject({ id: original.id, registeredTo: copyDir });
  });
});

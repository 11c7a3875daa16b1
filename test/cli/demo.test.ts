/** isfdb demo replaces only a folder an earlier demo made; everything else is refused and left byte-identical. */
import fsSync from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase, Registry } from '../../src/index.js';
import { isfdb, removeTemps, snapshot, tempDir, userFolder } from './helpers.js';

afterAll(removeTemps);

describe('isfdb demo <dir> never destroys a folder it did not make', { timeout: 120_000 }, () => {
  it('a non-empty foreign folder is refused, named, and left byte-identical', async () => {
    const root = await tempDir('demo');
    const target = userFolder(path.join(root, 'mine'));
    const before = snapshot(root);
    const r = isfdb(['demo', target, '--trials', '2', '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`refusing to replace ${target}: it is not empty and was not made by isfdb demo`);
    expect(snapshot(root)).toEqual(before);
  });

  it("a real database (with the user's notes in it) is refused too", async () => {
    const root = await tempDir('demo');
    const db = await DataBase.open(path.join(root, 'db'));
    await db.set('x', { a: 1 });
    fsSync.writeFileSync(path.join(db.basedir, 'NOTES.md'), 'my notes\n');
    const before = snapshot(root);
    const r = isfdb(['demo', db.basedir, '--trials', '2', '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`refusing to replace ${db.basedir}`);
    expect(snapshot(root)).toEqual(before);
  });

  it("'.', a folder above the working folder, and the --raw campaign (or a folder in it) are refused", async () => {
    const root = await tempDir('demo');
    const work = userFolder(path.join(root, 'work'));
    const before = snapshot(root);
    const dot = isfdb(['demo', '.'], { cwd: work });
    expect(dot.code).toBe(2);
    expect(dot.stderr).toContain(`refusing to use ${work}: it is the working folder or holds it`);
    const above = isfdb(['demo', '..'], { cwd: work });
    expect(above.code).toBe(2);
    expect(above.stderr).toContain(`refusing to use ${root}`);
    const same = isfdb(['demo', '--raw', work, work]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain(`it is, holds or lies inside the campaign ${work}`);
    const inside = isfdb(['demo', '--raw', work, path.join(work, 'sub', 'db')]);
    expect(inside.code).toBe(2);
    expect(snapshot(root)).toEqual(before);
  });

  it('a symbolic link to a folder is refused', async () => {
    const root = await tempDir('demo');
    const outside = userFolder(path.join(root, 'outside'));
    fsSync.symlinkSync(outside, path.join(root, 'link-db'));
    const before = snapshot(root);
    const r = isfdb(['demo', path.join(root, 'link-db'), '--trials', '2', '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a symbolic link');
    expect(snapshot(root)).toEqual(before);
  });

  it('a folder an earlier demo made is replaced, and its registry entries go with it', async () => {
    const root = await tempDir('demo');
    const dir = path.join(root, 'demo-db');
    const first = isfdb(['demo', '--trials', '2', '-q'], { cwd: root });
    expect(first.code, first.stderr).toBe(0);
    expect(fsSync.existsSync(path.join(dir, '.isfdb-demo'))).toBe(true);
    const firstId = (await DataBase.open(dir, { readonly: true })).id;
    const second = isfdb(['demo', dir, '--trials', '2', '-q']);
    expect(second.code, second.stderr).toBe(0);
    const secondDb = await DataBase.open(dir, { readonly: true });
    expect(secondDb.id).not.toBe(firstId);
    expect(await secondDb.keys()).toContain('voltage_traces');
    const { entries } = await Registry.default().list();
    expect(entries.map((e) => e.id)).not.toContain(firstId);
    for (const entry of entries.filter((e) => e.path.startsWith(dir))) {
      expect((await DataBase.open(entry.path, { readonly: true })).id).toBe(entry.id);
    }
  });
});

/**
 * One rule for symbolic links: a link in place of a key folder, of a sub-database folder or of its
 * `db` folder is never followed. keys() and `isfdb ls` skip it, every read and write of it is
 * refused with KeyTypeConflictError (fsck reports it); `reldb://` and `mdb://` paths are checked on
 * real paths. Every case leaves the folder outside the database byte-identical.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase, isDataBaseError, resolvePath } from '../../src/index.js';
import { caught, cleanupTemp, sandbox, type Sandbox } from '../core/helpers.js';
import { isfdb, snapshot, userFolder } from '../cli/helpers.js';

let sb: Sandbox;
let db: DataBase;
let outside: string;
let before: Record<string, string>;

beforeEach(async () => {
  sb = await sandbox();
  outside = userFolder(path.join(sb.root, 'outside'));
  db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
  await db.set('plain', { a: 1 });
  const figures = await db.createManagedFolder('figures');
  fsSync.writeFileSync(path.join(figures, 'fig1.png'), 'png');
  fsSync.symlinkSync(outside, path.join(figures, 'outlink'));
  fsSync.symlinkSync(path.join(outside, 'not-yet.txt'), path.join(figures, 'dangling'));
  before = snapshot(outside);
});
afterEach(async () => {
  expect(snapshot(outside)).toEqual(before);
  await cleanupTemp();
});

describe('reldb:// and mdb:// paths stay inside the database on real paths', () => {
  it('a path through a symbolic link out of the database is refused', async () => {
    const from = db.basedir;
    expect(await resolvePath('reldb://figures/fig1.png', { from })).toBe(path.join(db.basedir, 'figures', 'fig1.png'));
    for (const target of ['reldb://figures/outlink/file.txt', 'reldb://figures/outlink', 'reldb://figures/dangling', `mdb://${db.id}/figures/outlink/sub/thesis.tex`]) {
      const err = await caught(() => resolvePath(target, { from, open: { registry: sb.registry } }));
      expect(isDataBaseError(err, 'InvalidPathError'), `${target}: ${err.message}`).toBe(true);
      expect(err.message).toContain('through a symbolic link');
    }
  });

  it('an mdb:// path whose key folder is a symbolic link is refused', async () => {
    fsSync.symlinkSync(outside, path.join(db.basedir, 'linkedkey'));
    const err = await caught(() => resolvePath(`mdb://${db.id}/linkedkey/file.txt`, { open: { registry: sb.registry } }));
    expect(isDataBaseError(err, 'InvalidPathError')).toBe(true);
  });
});

describe('a symbolic link in place of a key or sub-database folder is never followed', () => {
  /** outside/sub/db: a sub-database the link leads to (the issue's `<outside>/sub/db/x`). */
  async function linkedSubDb(): Promise<void> {
    const foreign = await DataBase.open(path.join(outside, 'sub', 'db'), { registry: sb.registry });
    await foreign.set('y', 1);
    fsSync.mkdirSync(path.join(outside, 'sub'), { recursive: true });
    fsSync.writeFileSync(path.join(outside, 'sub', 'Loader.json'), '{"Loader": "data_base.isf_data_base.IO.LoaderDumper.just_create_isf_db"}');
    fsSync.symlinkSync(path.join(outside, 'sub'), path.join(db.basedir, 'linkedsub'));
    fsSync.symlinkSync(path.join(outside, 'sub'), path.join(db.basedir, 'linkedkey'));
    before = snapshot(outside);
  }

  async function expectRefused(call: () => unknown): Promise<void> {
    const err = await caught(call);
    expect(isDataBaseError(err, 'KeyTypeConflictError'), err.message).toBe(true);
    expect(err.message).toContain('is a symbolic link');
  }

  it('writes through a linked sub-database or key are refused: set, delete, rename, createSubDb, createManagedFolder, maybeCalculate, setMany', async () => {
    await linkedSubDb();
    await expectRefused(() => db.set(['linkedsub', 'x'], 1));
    await expectRefused(() => db.set('linkedkey', 1));
    await expectRefused(() => db.delete('linkedkey'));
    await expectRefused(() => db.delete(['linkedsub', 'y']));
    await expectRefused(() => db.rename('linkedkey', 'elsewhere'));
    await expectRefused(() => db.createSubDb(['linkedsub', 'deeper']));
    await expectRefused(() => db.createManagedFolder('linkedkey'));
    await expectRefused(() => db.maybeCalculate('linkedkey', () => 2));
    await expectRefused(() => db.setMany([{ key: 'linkedkey', value: 1 }]));
    expect(fsSync.lstatSync(path.join(db.basedir, 'linkedkey')).isSymbolicLink()).toBe(true);
  });

  it('reads agree with keys(): the link is not listed, has() is false, get/metadata/loaderOf refuse it', async () => {
    await linkedSubDb();
    expect(await db.keys()).toEqual(['figures', 'plain']);
    expect(await db.keys({ recurse: true })).toEqual([['figures'], ['plain']]);
    expect(await db.has('linkedkey')).toBe(false);
    expect(await db.has(['linkedsub', 'y'])).toBe(false);
    await expectRefused(() => db.get('linkedkey'));
    await expectRefused(() => db.get(['linkedsub', 'y']));
    await expectRefused(() => db.metadata('linkedkey'));
    await expectRefused(() => db.loaderOf('linkedkey'));
  });

  it("a sub-database whose 'db' folder is a link is refused too, and not walked", async () => {
    const foreign = await DataBase.open(path.join(outside, 'db'), { registry: sb.registry });
    await foreign.set('z', 1);
    await db.createSubDb('real');
    const dbFolder = path.join(db.basedir, 'real', 'db');
    fsSync.rmSync(dbFolder, { recursive: true });
    fsSync.symlinkSync(path.join(outside, 'db'), dbFolder);
    before = snapshot(outside);
    const fresh = await DataBase.open(db.basedir, { registry: sb.registry });
    await expectRefused(() => fresh.set(['real', 'x'], 1));
    await expectRefused(() => fresh.get(['real', 'z']));
    await expectRefused(() => fresh.get('real'));
    expect(await fresh.keys({ recurse: true })).toEqual([['figures'], ['plain'], ['real']]);
    const ls = isfdb(['ls', db.basedir]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('real  (sub-database, unreadable: ');
    expect(ls.stdout).not.toContain('── z');
  });

  it('fsck reports the link; isfdb ls does not list it', async () => {
    await linkedSubDb();
    const report = await db.fsck();
    expect(report.findings.map((f) => f.kind)).toContain('symlink');
    const ls = isfdb(['ls', db.basedir]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('plain');
    expect(ls.stdout).not.toContain('linked');
  });
});

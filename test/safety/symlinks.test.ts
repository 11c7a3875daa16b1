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
import { snapshot, userFolder } from '../cli/helpers.js';

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

/** The registry of databases by id, moved databases, and mdb:// / reldb:// / plain path resolution. */
import fsSync, { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CorruptKeyError, DataBase, DataBaseNotFoundError, InvalidInputError, InvalidPathError, Registry,
  enclosingDataBase, resolvePath,
} from '../../src/index.js';
import { caught, cleanupTemp, ls, makeTemp, sandbox, type Sandbox } from './helpers.js';

let sb: Sandbox;
beforeEach(async () => { sb = await sandbox(); });
afterEach(cleanupTemp);

function state(dir: string): Record<string, unknown> {
  return JSON.parse(fsSync.readFileSync(path.join(dir, 'db_state.json'), 'utf8')) as Record<string, unknown>;
}

describe('registry location', () => {
  it('$ISFDB_REGISTRY is honoured by Registry.default() and by DataBase.open', async () => {
    expect(Registry.default().dir).toBe(sb.registryDir);
    const db = await DataBase.open(path.join(sb.root, 'db'));
    expect(ls(sb.registryDir)).toEqual([`${db.id}.json`]);
    const entry = JSON.parse(fsSync.readFileSync(path.join(sb.registryDir, `${db.id}.json`), 'utf8')) as Record<string, unknown>;
    expect(entry['path']).toBe(db.basedir);
    // A relative $ISFDB_REGISTRY is resolved.
    const saved = process.env['ISFDB_REGISTRY'];
    try {
      process.env['ISFDB_REGISTRY'] = 'relative-registry';
      expect(Registry.default().dir).toBe(path.resolve('relative-registry'));
      process.env['ISFDB_REGISTRY'] = '';
      expect(Registry.default().dir).toBe(path.join(os.homedir(), '.isf-data-base', 'registry'));
      delete process.env['ISFDB_REGISTRY'];
      expect(Registry.default().dir).toBe(path.join(os.homedir(), '.isf-data-base', 'registry'));
    } finally {
      process.env['ISFDB_REGISTRY'] = saved;
    }
  });

  it('every database and sub-database registers on creation, including implicit ones of tuple keys', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const sub = await db.createSubDb('sub');
    await db.set(['a', 'b', 'c'], 1);
    const a = (await db.get('a')) as DataBase;
    const b = (await db.get(['a', 'b'])) as DataBase;
    const { entries, broken } = await sb.registry.list();
    expect(broken).toEqual([]);
    const byId = Object.fromEntries(entries.map((e) => [e.id, e.path]));
    expect(byId).toEqual({
      [db.id]: db.basedir,
      [sub.id]: path.join(db.basedir, 'sub', 'db'),
      [a.id]: path.join(db.basedir, 'a', 'db'),
      [b.id]: path.join(db.basedir, 'a', 'db', 'b', 'db'),
    });
    expect(entries.map((e) => e.id)).toEqual(Object.keys(byId).sort());
  });

  it('list() reports broken entries instead of skipping them', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await fs.writeFile(path.join(sb.registryDir, 'broken_id.json'), '{"path": ');
    const { entries, broken } = await sb.registry.list();
    expect(entries).toEqual([{ id: db.id, path: db.basedir }]);
    expect(broken).toHaveLength(1);
    expect(broken[0]).toBeInstanceOf(CorruptKeyError);
    expect(broken[0]!.file).toBe(path.join(sb.registryDir, 'broken_id.json'));
  });

  it('ids that are not file-name safe are refused', async () => {
    const err = await caught(() => sb.registry.lookup('../../etc/passwd'));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toBe(`${sb.registryDir}: '../../etc/passwd' is not a valid database id`);
  });
});

describe('moved databases', () => {
  it('opened writable at the new place: re-registered and _registered_to_path updated; sub-databases when opened', async () => {
    const oldDir = path.join(sb.root, 'old');
    const db = await DataBase.open(oldDir);
    const sub = await db.createSubDb('sub');
    await db.set('k', 1);
    const newDir = path.join(sb.root, 'moved', 'new');
    await fs.mkdir(path.dirname(newDir));
    await fs.rename(oldDir, newDir);

    // Before it is opened at its new place, a lookup says where it was and that it is gone.
    const gone = await caught(() => DataBase.byId(db.id));
    expect(gone).toBeInstanceOf(DataBaseNotFoundError);
    expect(gone.message).toBe(`database '${db.id}' not found: registered at ${oldDir}, but no database is there any more`);

    // Readonly opens change nothing.
    await DataBase.open(newDir, { readonly: true });
    expect(await sb.registry.lookup(db.id)).toBe(oldDir);
    expect(state(newDir)['_registered_to_path']).toBe(oldDir);

    const moved = await DataBase.open(newDir);
    expect(moved.id).toBe(db.id);
    expect(await sb.registry.lookup(db.id)).toBe(newDir);
    expect(state(newDir)).toEqual({
      _registeredDumpers: ['data_base.isf_data_base.IO.LoaderDumper.to_cloudpickle'], _unique_id: db.id, _registered_to_path: newDir,
    });
    expect((await DataBase.byId(db.id)).basedir).toBe(newDir);
    expect(await (await DataBase.byId(db.id)).get('k')).toBe(1);

    const movedSub = (await moved.get('sub')) as DataBase;
    expect(movedSub.id).toBe(sub.id);
    expect(await sb.registry.lookup(sub.id)).toBe(path.join(newDir, 'sub', 'db'));
    expect(state(movedSub.basedir)['_registered_to_path']).toBe(path.join(newDir, 'sub', 'db'));
  });

  it('byId refuses a registered folder that now holds another database', async () => {
    const a = await DataBase.open(path.join(sb.root, 'a'));
    const b = await DataBase.open(path.join(sb.root, 'b'));
    await fs.rm(a.basedir, { recursive: true });
    await fs.rename(b.basedir, a.basedir);
    const err = await caught(() => DataBase.byId(a.id));
    expect(err).toBeInstanceOf(DataBaseNotFoundError);
    expect(err.message).toBe(`database '${a.id}' not found: registered at ${a.basedir}, but the database there has id '${b.id}'`);
  });

  it('byId passes options on (readonly)', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const ro = await DataBase.byId(db.id, { readonly: true });
    expect(ro.readonly).toBe(true);
    expect(ro.id).toBe(db.id);
    expect((await DataBase.byId(db.id)).readonly).toBe(false);
  });
});

describe('resolvePath', () => {
  it('mdb://<id>/<managed folder key>/<file> resolves into the managed folder, also for sub-databases', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const folder = await db.createManagedFolder('morphology');
    expect(await resolvePath(`mdb://${db.id}/morphology/cell.hoc`)).toBe(path.join(folder, 'cell.hoc'));
    expect(await resolvePath(`mdb://${db.id}/morphology/a/b/c.txt`)).toBe(path.join(folder, 'a', 'b', 'c.txt'));
    expect(await resolvePath(`mdb://${db.id}/morphology`)).toBe(folder);
    const sub = await db.createSubDb('sub');
    const subFolder = await sub.createManagedFolder('params');
    expect(await resolvePath(`mdb://${sub.id}/params/network.param`)).toBe(path.join(subFolder, 'network.param'));
    // Resolution is readonly: it creates nothing.
    expect(await resolvePath(`mdb://${db.id}/not_yet/file`)).toBe(path.join(db.basedir, 'not_yet', 'file'));
    expect(fsSync.existsSync(path.join(db.basedir, 'not_yet'))).toBe(false);
  });

  it('mdb:// refuses unknown ids, missing keys, bad keys and escapes', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.createManagedFolder('mf');
    const unknown = await caught(() => resolvePath('mdb://2020-01-01_1_nothere/mf/x'));
    expect(unknown).toBeInstanceOf(DataBaseNotFoundError);
    expect((unknown as DataBaseNotFoundError).id).toBe('2020-01-01_1_nothere');
    const noKey = await caught(() => resolvePath(`mdb://${db.id}`));
    expect(noKey).toBeInstanceOf(InvalidPathError);
    expect(noKey.message).toBe(`cannot resolve 'mdb://${db.id}': expected mdb://<database id>/<key>/<path inside the key>`);
    const badKey = await caught(() => resolvePath(`mdb://${db.id}/../x`));
    expect(badKey).toBeInstanceOf(InvalidPathError);
    const escape = await caught(() => resolvePath(`mdb://${db.id}/mf/../../../etc/passwd`));
    expect(escape).toBeInstanceOf(InvalidPathError);
    expect(escape.message).toBe(`cannot resolve 'mdb://${db.id}/mf/../../../etc/passwd': the path leaves ${path.join(db.basedir, 'mf')}`);
  });

  it('reldb://x resolves from inside a database to its nearest enclosing database folder', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const folder = await db.createManagedFolder('params');
    const paramFile = path.join(folder, 'network.param');
    await fs.writeFile(paramFile, '{}');
    expect(await resolvePath('reldb://params/cell.param', { from: paramFile })).toBe(path.join(db.basedir, 'params', 'cell.param'));
    expect(await resolvePath('reldb://params/cell.param', { from: folder })).toBe(path.join(db.basedir, 'params', 'cell.param'));
    expect(await resolvePath('reldb://x', { from: db.basedir })).toBe(path.join(db.basedir, 'x'));
    // A file that does not exist yet resolves from its folder.
    expect(await resolvePath('reldb://x', { from: path.join(folder, 'future.param') })).toBe(path.join(db.basedir, 'x'));
    // Inside a sub-database, the sub-database is the nearest.
    const sub = await db.createSubDb('sub');
    const subFolder = await sub.createManagedFolder('mf');
    expect(await resolvePath('reldb://mf/y', { from: subFolder })).toBe(path.join(sub.basedir, 'mf', 'y'));
    expect(await enclosingDataBase(subFolder)).toBe(sub.basedir);
    expect(await enclosingDataBase(paramFile)).toBe(db.basedir);
    // Going down and back up inside the database is fine.
    expect(await resolvePath('reldb://a/../b', { from: folder })).toBe(path.join(db.basedir, 'b'));
  });

  it('reldb:// escaping the database with .. is refused, and needs an enclosing database', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const folder = await db.createManagedFolder('mf');
    for (const target of ['reldb://../outside', 'reldb://mf/../../outside', 'reldb://..']) {
      const err = await caught(() => resolvePath(target, { from: folder }));
      expect(err, target).toBeInstanceOf(InvalidPathError);
      expect(err.message).toBe(`cannot resolve '${target}': the path leaves ${db.basedir}`);
    }
    const outside = await makeTemp('isfdb-outside-');
    const none = await caught(() => resolvePath('reldb://x', { from: outside }));
    expect(none).toBeInstanceOf(InvalidPathError);
    expect(none.message).toBe(`cannot resolve 'reldb://x': no database encloses ${outside} (no db_state.json in it or above it)`);
  });

  it('plain paths: absolute ones stay, relative ones resolve from `from` (or the working directory)', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const folder = await db.createManagedFolder('mf');
    const file = path.join(folder, 'a.param');
    await fs.writeFile(file, '');
    expect(await resolvePath('/abs/olute/path.txt')).toBe('/abs/olute/path.txt');
    expect(await resolvePath('rel/file.txt', { from: file })).toBe(path.join(folder, 'rel', 'file.txt'));
    expect(await resolvePath('rel/file.txt')).toBe(path.resolve('rel/file.txt'));
  });

  it('a managed folder key that holds data is still a folder path (ISF resolves paths, not values)', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('data', 1);
    expect(await resolvePath(`mdb://${db.id}/data/value.msgpack`)).toBe(path.join(db.basedir, 'data', 'value.msgpack'));
  });
});

/** The on-disk JSON files, exactly as ISF writes them, and how damaged ones are reported. */
import fsSync, { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CorruptKeyError, DataBase, UnknownLoaderError, clearProvenanceCache, isDataBaseError, type NdArray,
} from '../../src/index.js';
import { caught, cleanupTemp, hasNumpy, makeTemp, python, sandbox, type Sandbox } from './helpers.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await sandbox();
  clearProvenanceCache();
});
afterEach(cleanupTemp);

const PREFIX = 'data_base.isf_data_base.IO.LoaderDumper.';

/** Python's json.dumps(value) with default separators, written independently of the code under test. */
function pyDumps(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(pyDumps).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}: ${pyDumps(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

function read(file: string): string {
  return fsSync.readFileSync(file, 'utf8');
}

/** [Y, M, D, h, m, s, weekday (Mon=0), yearday, -1] computed by hand. */
function expectedTuple(y: number, m: number, d: number, hh: number, mm: number, ss: number, weekdayMon0: number, yday: number): number[] {
  return [y, m, d, hh, mm, ss, weekdayMon0, yday, -1];
}

describe('db_state.json', () => {
  it('is written with Python json.dump separators, in ISF field order', async () => {
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir);
    expect(read(path.join(dir, 'db_state.json'))).toBe(
      `{"_registeredDumpers": ["data_base.isf_data_base.IO.LoaderDumper.to_cloudpickle"], "_unique_id": "${db.id}", "_registered_to_path": "${dir}"}`,
    );
  });

  it('of a sub-database names its own id and final folder', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const sub = await db.createSubDb('sub');
    expect(read(path.join(db.basedir, 'sub', 'db', 'db_state.json'))).toBe(
      `{"_registeredDumpers": ["data_base.isf_data_base.IO.LoaderDumper.to_cloudpickle"], "_unique_id": "${sub.id}", "_registered_to_path": "${sub.basedir}"}`,
    );
    expect(read(path.join(db.basedir, 'sub', 'Loader.json'))).toBe(`{"Loader": "${PREFIX}just_create_isf_db"}`);
  });
});

describe('Loader.json', () => {
  it('is {"Loader": "data_base.isf_data_base.IO.LoaderDumper.<name>"} for every built-in loader', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('npy', new Int16Array([1]));
    await db.set('npz', new Int16Array([1]), 'numpy_to_npz');
    await db.set('msg', { a: 1 });
    await db.set('vmsg', { a: 1n });
    await db.createManagedFolder('folder');
    await db.createSubDb('sub');
    for (const [key, name] of [['npy', 'numpy_to_npy'], ['npz', 'numpy_to_npz'], ['msg', 'to_msgpack'], ['vmsg', 'value_to_msgpack'], ['folder', 'just_create_folder'], ['sub', 'just_create_isf_db']]) {
      expect(read(path.join(db.basedir, key!, 'Loader.json'))).toBe(`{"Loader": "${PREFIX}${name}"}`);
    }
  });

  it('names with every historical ISF prefix (and none) load', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const spellings = [
      `${PREFIX}numpy_to_npy`, 'data_base.IO.LoaderDumper.numpy_to_npy', 'model_data_base.IO.LoaderDumper.numpy_to_npy', 'numpy_to_npy',
    ];
    for (const [i, spelling] of spellings.entries()) {
      await db.set(`k${i}`, new Float32Array([i, 0.5]));
      await fs.writeFile(path.join(db.basedir, `k${i}`, 'Loader.json'), pyDumps({ Loader: spelling }));
      const value = (await db.get(`k${i}`)) as NdArray;
      expect(value.dtype).toBe('float32');
      expect([...value.data]).toEqual([i, 0.5]);
      expect(await db.loaderOf(`k${i}`)).toBe('numpy_to_npy');
    }
    // Sub-databases and managed folders with old prefixes.
    await db.createSubDb('sub');
    await (await db.get('sub') as DataBase).set('x', 1);
    await fs.writeFile(path.join(db.basedir, 'sub', 'Loader.json'), pyDumps({ Loader: 'model_data_base.IO.LoaderDumper.just_create_isf_db' }));
    expect(await db.get(['sub', 'x'])).toBe(1);
    expect(await db.get('sub')).toBeInstanceOf(DataBase);
  });

  it('an unknown loader name raises UnknownLoaderError naming the loader and the key', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('k', 1);
    await fs.writeFile(path.join(db.basedir, 'k', 'Loader.json'), pyDumps({ Loader: `${PREFIX}no_such_loader` }));
    const err = await caught(() => db.get('k'));
    expect(err).toBeInstanceOf(UnknownLoaderError);
    expect(err.message).toBe(`unknown loader '${PREFIX}no_such_loader' for key 'k': register it with registerLoader() or use one of listLoaders()`);
  });
});

describe('metadata.json', () => {
  it('has ISF\'s fields in ISF\'s order, Python separators, hostname without newline, a valid UTC time tuple', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'), { gitDir: await makeTemp('isfdb-nogit-') });
    const before = new Date();
    await db.set('k', new Float64Array([1]));
    const after = new Date();
    const text = read(path.join(db.basedir, 'k', 'metadata.json'));
    const meta = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(meta).slice(0, 11)).toEqual([
      'dumper', 'time', 'module_list', 'module_versions', 'history', 'hostname', 'metadata_creation_time',
      'version', 'full-revisionid', 'dirty', 'error',
    ]);
    expect(text).toBe(pyDumps(meta));
    expect(text).not.toContain('\n');
    expect(meta['dumper']).toBe('numpy_to_npy');
    expect(meta['metadata_creation_time']).toBe('together_with_new_key');
    expect(meta['hostname']).toBe(os.hostname().trim());
    expect(meta['hostname']).not.toMatch(/\s$/);
    expect(typeof meta['module_list']).toBe('string');
    const versions = meta['module_versions'] as Record<string, string>;
    expect(versions['node']).toBe(process.versions.node);
    expect(versions['isf-data-base']).toBe('0.1.0');
    expect(versions['msgpackr']).toMatch(/^\d+\.\d+\.\d+/);
    expect(String(meta['module_list']).split('\n')).toContain(`msgpackr@${versions['msgpackr']}`);
    expect(typeof meta['history']).toBe('string');
    const time = meta['time'] as number[];
    expect(time).toHaveLength(9);
    expect(time[8]).toBe(-1);
    const stamp = Date.UTC(time[0]!, time[1]! - 1, time[2]!, time[3]!, time[4]!, time[5]!);
    expect(stamp).toBeGreaterThanOrEqual(Math.floor(before.getTime() / 1000) * 1000);
    expect(stamp).toBeLessThanOrEqual(after.getTime());
    const date = new Date(stamp);
    expect(time[6]).toBe((date.getUTCDay() + 6) % 7);
    expect(time[7]).toBe(Math.round((Date.UTC(time[0]!, time[1]! - 1, time[2]!) - Date.UTC(time[0]!, 0, 1)) / 86_400_000) + 1);
  });

  it('Python reads it back as the same JSON text and the same time.struct_time', async (ctx) => {
    if (!hasNumpy()) ctx.skip();
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('k', 1);
    const file = path.join(db.basedir, 'k', 'metadata.json');
    const out = python(
      'import json, sys, time, calendar\n'
      + 'text = open(sys.argv[1]).read()\n'
      + 'm = json.loads(text)\n'
      + 't = m["time"]\n'
      + 'st = time.gmtime(calendar.timegm(tuple(t[:6]) + (0, 0, 0)))\n'
      + 'print(json.dumps(json.loads(text)) == text, list(st)[:8] == t[:8])\n',
      [file],
    );
    expect(out.trim()).toBe('True True');
  });

  it('time tuples have weekday Mon=0 and the day of the year (via post hoc metadata of a folder mtime)', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const dates: Array<[string, number[]]> = [
      ['2024-01-01T00:00:00Z', expectedTuple(2024, 1, 1, 0, 0, 0, 0, 1)], // a Monday
      ['2024-02-29T23:59:59Z', expectedTuple(2024, 2, 29, 23, 59, 59, 3, 60)], // Thursday, leap day
      ['2024-12-31T12:30:05Z', expectedTuple(2024, 12, 31, 12, 30, 5, 1, 366)], // Tuesday
      ['2023-12-31T08:00:00Z', expectedTuple(2023, 12, 31, 8, 0, 0, 6, 365)], // Sunday
    ];
    for (const [i, [iso, tuple]] of dates.entries()) {
      await db.set(`t${i}`, i);
      const folder = path.join(db.basedir, `t${i}`);
      await fs.rm(path.join(folder, 'metadata.json'));
      await fs.utimes(folder, new Date(iso), new Date(iso));
      const meta = await db.metadata(`t${i}`);
      expect(meta.time, iso).toEqual(tuple);
    }
  });

  it('a missing metadata.json is filled in post hoc, once, and real metadata is never rewritten on open', async () => {
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir);
    await db.set('real', 1);
    await db.set('lost', new Float64Array([1]));
    const realText = read(path.join(dir, 'real', 'metadata.json'));
    await fs.rm(path.join(dir, 'lost', 'metadata.json'));
    const mtime = new Date('2024-05-06T07:08:09Z');
    await fs.utimes(path.join(dir, 'lost'), mtime, mtime);

    const reopened = await DataBase.open(dir);
    await reopened.keys({ recurse: true });
    await reopened.get('real');
    const meta = await reopened.metadata('lost');
    expect(meta).toEqual({ dumper: 'numpy_to_npy', time: [2024, 5, 6, 7, 8, 9, 0, 127, -1], metadata_creation_time: 'post_hoc', version: 'unknown' });
    expect(read(path.join(dir, 'lost', 'metadata.json'))).toBe(
      '{"dumper": "numpy_to_npy", "time": [2024, 5, 6, 7, 8, 9, 0, 127, -1], "metadata_creation_time": "post_hoc", "version": "unknown"}',
    );
    await DataBase.open(dir);
    expect(await reopened.metadata('real')).toEqual(JSON.parse(realText));
    expect(read(path.join(dir, 'real', 'metadata.json'))).toBe(realText);
    expect(JSON.parse(realText).metadata_creation_time).toBe('together_with_new_key');
  });

  it('post hoc metadata without Loader.json names the dumper "unknown"', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await fs.mkdir(path.join(db.basedir, 'bare'));
    expect((await db.metadata('bare')).dumper).toBe('unknown');
  });
});

describe('damaged files', () => {
  async function withKeys(): Promise<DataBase> {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('good', { fine: true });
    await db.set('bad', { fine: false });
    return db;
  }

  const LOADER_DAMAGE: Array<[string, string | undefined, RegExp]> = [
    ['invalid JSON', '{"Loader": ', /is not valid JSON/],
    ['wrong shape', '{"loader": "numpy_to_npy"}', /does not match the expected layout at 'Loader'/],
    ['empty name', '{"Loader": ""}', /does not match the expected layout at 'Loader'/],
    ['missing file', undefined, /file is missing$/],
  ];
  for (const [what, content, reason] of LOADER_DAMAGE) {
    it(`Loader.json ${what}: CorruptKeyError naming the file and key; other keys stay readable`, async () => {
      const db = await withKeys();
      const file = path.join(db.basedir, 'bad', 'Loader.json');
      if (content === undefined) await fs.rm(file);
      else await fs.writeFile(file, content);
      const err = await caught(() => db.get('bad'));
      expect(err).toBeInstanceOf(CorruptKeyError);
      expect((err as CorruptKeyError).file).toBe(file);
      expect((err as CorruptKeyError).key).toBe('bad');
      expect(err.message.startsWith(`key 'bad': ${file}: `)).toBe(true);
      expect(err.message).toMatch(reason);
      await expect(db.loaderOf('bad')).rejects.toBeInstanceOf(CorruptKeyError);
      expect(await db.get('good')).toEqual({ fine: true });
      expect(await db.keys()).toEqual(['bad', 'good']);
      expect(await db.keys({ recurse: true })).toEqual([['bad'], ['good']]);
      expect(await (await DataBase.open(db.basedir, { readonly: true })).get('good')).toEqual({ fine: true });
    });
  }

  it('metadata.json corrupt: CorruptKeyError naming the file from metadata(); the value still loads and the file is not replaced', async () => {
    const db = await withKeys();
    const file = path.join(db.basedir, 'bad', 'metadata.json');
    await fs.writeFile(file, '{not json');
    const err = await caught(() => db.metadata('bad'));
    expect(err).toBeInstanceOf(CorruptKeyError);
    expect((err as CorruptKeyError).file).toBe(file);
    expect(err.message).toContain(`key 'bad': ${file}: is not valid JSON`);
    expect(await db.get('bad')).toEqual({ fine: false });
    expect((await db.metadata('good')).dumper).toBe('to_msgpack');
    expect(read(file)).toBe('{not json');
  });

  it('metadata.json of the wrong shape: CorruptKeyError naming the file', async () => {
    const db = await withKeys();
    const file = path.join(db.basedir, 'bad', 'metadata.json');
    await fs.writeFile(file, '{"time": [1, 2]}');
    const err = await caught(() => db.metadata('bad'));
    expect(err).toBeInstanceOf(CorruptKeyError);
    expect((err as CorruptKeyError).file).toBe(file);
  });

  it('db_state.json corrupt: opening raises CorruptKeyError naming it; keys of the parent database stay readable', async () => {
    const db = await withKeys();
    const sub = await db.createSubDb('sub');
    await sub.set('x', 1);
    const file = path.join(sub.basedir, 'db_state.json');
    await fs.writeFile(file, '["not", "an", "object"]');
    const subErr = await caught(() => db.get(['sub', 'x']));
    expect(subErr).toBeInstanceOf(CorruptKeyError);
    expect((subErr as CorruptKeyError).file).toBe(file);
    expect(isDataBaseError(subErr, 'CorruptKeyError')).toBe(true);
    expect(await db.get('good')).toEqual({ fine: true });
    const topFile = path.join(db.basedir, 'db_state.json');
    await fs.writeFile(topFile, '{"_unique_id": ');
    const topErr = await caught(() => DataBase.open(db.basedir));
    expect(topErr).toBeInstanceOf(CorruptKeyError);
    expect((topErr as CorruptKeyError).file).toBe(topFile);
    expect(topErr.message).toMatch(new RegExp(`^${topFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is not valid JSON`));
    // The damaged file is left for the user to repair, not silently replaced.
    expect(read(topFile)).toBe('{"_unique_id": ');
  });

  it('a sub-database whose db_state.json is missing is reported, not silently re-created', async () => {
    const db = await withKeys();
    const sub = await db.createSubDb('sub');
    await sub.set('x', 1);
    await fs.rm(path.join(sub.basedir, 'db_state.json'));
    const err = await caught(() => db.get(['sub', 'x']));
    expect(isDataBaseError(err, 'CorruptKeyError', 'NotADataBaseError')).toBe(true);
    expect(err.message).toContain(sub.basedir);
    expect(fsSync.existsSync(path.join(sub.basedir, 'db_state.json'))).toBe(false);
    expect(await db.get('good')).toEqual({ fine: true });
  });

  it('a data file that is missing or truncated: CorruptKeyError naming it', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('arr', new Float64Array([1, 2, 3]));
    await db.set('msg', { a: 1 });
    const npy = path.join(db.basedir, 'arr', 'np.npy');
    const bytes = fsSync.readFileSync(npy);
    await fs.writeFile(npy, bytes.subarray(0, bytes.length - 4));
    const err = await caught(() => db.get('arr'));
    expect(err).toBeInstanceOf(CorruptKeyError);
    expect((err as CorruptKeyError).file).toBe(npy);
    expect(err.message).toBe(`key 'arr': ${npy}: data is truncated: shape [3] needs 24 bytes, file has 20`);
    await fs.rm(path.join(db.basedir, 'msg', 'to_pickle_dump'));
    const missing = await caught(() => db.get('msg'));
    expect(missing).toBeInstanceOf(CorruptKeyError);
    expect(missing.message).toBe(`key 'msg': ${path.join(db.basedir, 'msg', 'to_pickle_dump')}: data file is missing`);
  });
});

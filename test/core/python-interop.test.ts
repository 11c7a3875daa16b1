/**
 * Folders written by Python ISF (built here from the documented layout) and NumPy files both ways.
 * The NumPy tests run when a Python with numpy is found (test/services.ts) and are skipped with a message otherwise;
 * the hand-built .npy files (big-endian, Fortran order, v2.0 header) are checked either way.
 */
import fsSync, { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DataBase, NotADataBaseError, UnsupportedFormatError, type NdArray,
} from '../../src/index.js';
import { caught, cleanupTemp, hasNumpy, ls, makeTemp, python, sandbox, type Sandbox } from './helpers.js';

let sb: Sandbox;
beforeEach(async () => { sb = await sandbox(); });
afterEach(cleanupTemp);

const NUMPY = hasNumpy();
const NUMPY_SKIP = 'no Python with numpy here ($ISFDB_PYTHON, .venv, python3): NumPy interop tests skipped';
if (!NUMPY) console.warn(NUMPY_SKIP);

/** A .npy file built by hand (independently of the code under test). */
function npyBytes(descr: string, fortran: boolean, shape: number[], body: Uint8Array, version: 1 | 2 = 1): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const prefix = version === 1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = `${dict.padEnd(total - prefix - 1, ' ')}\n`;
  const out = new Uint8Array(total + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(body, total);
  return out;
}

function bigEndianFloat64(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat64(i * 8, v, false));
  return out;
}

function bigEndianInt32(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setInt32(i * 4, v, false));
  return out;
}

async function writeKey(dbDir: string, key: string, loader: string, files: Record<string, string | Uint8Array>, metadata?: string): Promise<void> {
  const dir = path.join(dbDir, key);
  await fs.mkdir(dir, { recursive: true });
  if (loader !== '') await fs.writeFile(path.join(dir, 'Loader.json'), `{"Loader": "${loader}"}`);
  if (metadata !== undefined) await fs.writeFile(path.join(dir, 'metadata.json'), metadata);
  for (const [name, content] of Object.entries(files)) await fs.writeFile(path.join(dir, name), content);
}

const ISF_ID = '2024-02-14_126397_j3n0Gf3';
const ISF_METADATA = '{"dumper": "numpy_to_npy", "time": [2024, 2, 14, 10, 3, 59, 2, 45, -1], "module_list": "# packages in environment at /opt/isf:\\nnumpy 1.22.4\\n", "module_versions": {"numpy": "1.22.4"}, "history": null, "hostname": "node042\\n", "metadata_creation_time": "together_with_new_key", "version": "heads/master", "full-revisionid": "0123456789abcdef0123456789abcdef01234567", "dirty": false, "error": null}';

let numpyFiles: Promise<{ voltage: Buffer; fortran: Buffer }> | undefined;

/** Two .npy files written once by NumPy: a big-endian float64 2-d array and a Fortran-order int32 one. */
function numpyWrittenFiles(): Promise<{ voltage: Buffer; fortran: Buffer }> {
  numpyFiles ??= (async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'isfdb-npfiles-'));
    python('import numpy as np, sys\n'
      + 'np.save(sys.argv[1], np.arange(6, dtype=">f8").reshape(2, 3) / 4)\n'
      + 'np.save(sys.argv[2], np.asfortranarray(np.arange(12, dtype="<i4").reshape(3, 4)))\n',
    [path.join(dir, 'v.npy'), path.join(dir, 'f.npy')]);
    const files = { voltage: fsSync.readFileSync(path.join(dir, 'v.npy')), fortran: fsSync.readFileSync(path.join(dir, 'f.npy')) };
    await fs.rm(dir, { recursive: true, force: true });
    return files;
  })();
  return numpyFiles;
}

/** A database folder as Python ISF leaves it. */
async function buildIsfFolder(): Promise<string> {
  const dir = path.join(sb.root, 'isf-db');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'db_state.json'),
    `{"_registeredDumpers": ["data_base.isf_data_base.IO.LoaderDumper.to_cloudpickle"], "_unique_id": "${ISF_ID}", "_registered_to_path": "/gpfs/project/old/place/isf-db"}`);
  if (NUMPY) {
    const files = await numpyWrittenFiles();
    await writeKey(dir, 'voltage', '', { 'np.npy': files.voltage });
    await writeKey(dir, 'fortran', '', { 'np.npy': files.fortran });
  } else {
    await writeKey(dir, 'voltage', '', { 'np.npy': npyBytes('>f8', false, [2, 3], bigEndianFloat64([0, 0.25, 0.5, 0.75, 1, 1.25])) });
    // Fortran order of [[0..3],[4..7],[8..11]]: columns first.
    await writeKey(dir, 'fortran', '', {
      'np.npy': npyBytes('<i4', true, [3, 4], new Uint8Array(new Int32Array([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]).buffer)),
    });
  }
  await fs.writeFile(path.join(dir, 'voltage', 'Loader.json'), '{"Loader": "data_base.isf_data_base.IO.LoaderDumper.numpy_to_npy"}');
  await fs.writeFile(path.join(dir, 'voltage', 'metadata.json'), ISF_METADATA);
  await fs.writeFile(path.join(dir, 'fortran', 'Loader.json'), '{"Loader": "model_data_base.IO.LoaderDumper.numpy_to_npy"}');
  await writeKey(dir, 'legacy_cell', '', { 'Loader.pickle': new Uint8Array([0x80, 0x04, 0x95]), cell: new Uint8Array([0x80, 0x04]) },
    '{"dumper": "cell", "time": [2019, 1, 2, 3, 4, 5, 2, 2, -1], "metadata_creation_time": "post_hoc", "version": "unknown"}');
  await writeKey(dir, 'pickled', 'data_base.isf_data_base.IO.LoaderDumper.to_cloudpickle', { to_pickle_dump: new Uint8Array([0x80, 0x05]) },
    '{"dumper": "to_cloudpickle", "time": [2024, 2, 14, 10, 4, 0, 2, 45, -1], "metadata_creation_time": "together_with_new_key", "version": "heads/master"}');
  await writeKey(dir, 'sub', 'data_base.IO.LoaderDumper.just_create_isf_db', {});
  await fs.mkdir(path.join(dir, 'sub', 'db'));
  await fs.writeFile(path.join(dir, 'sub', 'db', 'db_state.json'),
    '{"_registeredDumpers": ["data_base.isf_data_base.IO.LoaderDumper.to_cloudpickle"], "_unique_id": "2024-02-14_126397_Sub0001", "_registered_to_path": "None"}');
  await writeKey(path.join(dir, 'sub', 'db'), 'inner', 'data_base.isf_data_base.IO.LoaderDumper.numpy_to_npy', {
    'np.npy': npyBytes('>i4', false, [3], bigEndianInt32([-1, 2, 70000])),
  });
  await writeKey(dir, 'managed', 'data_base.isf_data_base.IO.LoaderDumper.just_create_folder', { 'params.param': '{"a": 1}' });
  // ISF's removal in progress, and stray files: none of them are keys.
  await fs.mkdir(path.join(dir, 'voltage.deleting.AB12C'));
  await fs.writeFile(path.join(dir, 'voltage.deleting.AB12C', 'np.npy'), 'x');
  await fs.writeFile(path.join(dir, 'README.txt'), 'notes');
  return dir;
}

describe('a database folder written by Python ISF', () => {
  it('lists keys, reads npy keys (big-endian, Fortran order) and sub-databases, reads metadata as written', async () => {
    const dir = await buildIsfFolder();
    const before = fsSync.readFileSync(path.join(dir, 'db_state.json'), 'utf8');
    const db = await DataBase.open(dir, { readonly: true });
    expect(db.id).toBe(ISF_ID);
    expect(await db.keys()).toEqual(['fortran', 'legacy_cell', 'managed', 'pickled', 'sub', 'voltage']);
    expect(await db.keys({ recurse: true })).toEqual([['fortran'], ['legacy_cell'], ['managed'], ['pickled'], ['sub', 'inner'], ['voltage']]);
    const voltage = (await db.get('voltage')) as NdArray;
    expect(voltage.dtype).toBe('float64');
    expect(voltage.shape).toEqual([2, 3]);
    expect([...voltage.data]).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    const fortran = (await db.get('fortran')) as NdArray;
    expect(fortran.dtype).toBe('int32');
    expect(fortran.shape).toEqual([3, 4]);
    expect([...fortran.data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const inner = (await db.get(['sub', 'inner'])) as NdArray;
    expect([...inner.data]).toEqual([-1, 2, 70000]);
    expect(await db.get('managed')).toBe(path.join(dir, 'managed'));
    expect(await db.metadata('voltage')).toEqual(JSON.parse(ISF_METADATA));
    expect((await db.metadata('voltage')).hostname).toBe('node042\n');
    expect(await db.loaderOf('fortran')).toBe('numpy_to_npy');
    // Readonly: nothing of Python's was touched.
    expect(fsSync.readFileSync(path.join(dir, 'db_state.json'), 'utf8')).toBe(before);
    expect(fsSync.readFileSync(path.join(dir, 'voltage', 'metadata.json'), 'utf8')).toBe(ISF_METADATA);
  });

  it('refuses pickle keys with UnsupportedFormatError naming the loader, but lists them and shows their metadata', async () => {
    const dir = await buildIsfFolder();
    const db = await DataBase.open(dir, { readonly: true });
    const pickled = await caught(() => db.get('pickled'));
    expect(pickled).toBeInstanceOf(UnsupportedFormatError);
    expect((pickled as UnsupportedFormatError).loader).toBe('to_cloudpickle');
    expect(pickled.message).toBe("key 'pickled' uses loader 'to_cloudpickle': this is a Python-only format (pickled or Python-specific); read it with Python ISF and store it again with a portable loader");
    expect(await db.loaderOf('pickled')).toBe('to_cloudpickle');
    expect((await db.metadata('pickled')).dumper).toBe('to_cloudpickle');
    expect(await db.has('pickled')).toBe(true);

    const legacy = await caught(() => db.get('legacy_cell'));
    expect(legacy).toBeInstanceOf(UnsupportedFormatError);
    expect((legacy as UnsupportedFormatError).loader).toBe('Loader.pickle');
    expect(legacy.message).toBe("key 'legacy_cell' uses loader 'Loader.pickle': the key was written by a legacy Python ISF with a pickled loader; read it with Python ISF");
    expect(await db.has('legacy_cell')).toBe(true);
    expect((await db.metadata('legacy_cell')).dumper).toBe('cell');
  });

  it('every Python-only loader name is refused by get with UnsupportedFormatError naming it', async () => {
    const dir = await buildIsfFolder();
    const names = ['to_cloudpickle', 'to_pickle', 'pandas_to_pickle', 'pandas_to_msgpack', 'dask_to_msgpack',
      'dask_to_categorized_msgpack', 'numpy_to_msgpack', 'numpy_to_zarr', 'reduced_lda_model', 'cell'];
    for (const name of names) await writeKey(dir, `py_${name}`, `data_base.isf_data_base.IO.LoaderDumper.${name}`, { data: 'x' });
    const db = await DataBase.open(dir, { readonly: true });
    for (const name of names) {
      const err = await caught(() => db.get(`py_${name}`));
      expect(err, name).toBeInstanceOf(UnsupportedFormatError);
      expect((err as UnsupportedFormatError).loader).toBe(name);
      expect(err.message).toContain(`uses loader '${name}': this is a Python-only format`);
    }
  });

  it('opened writable at a new place: registers its id and updates _registered_to_path, keeping the id', async () => {
    const dir = await buildIsfFolder();
    const db = await DataBase.open(dir);
    expect(db.id).toBe(ISF_ID);
    expect(JSON.parse(fsSync.readFileSync(path.join(dir, 'db_state.json'), 'utf8'))).toEqual({
      _registeredDumpers: ['data_base.isf_data_base.IO.LoaderDumper.to_cloudpickle'], _unique_id: ISF_ID, _registered_to_path: dir,
    });
    expect(await sb.registry.lookup(ISF_ID)).toBe(dir);
    // Python's metadata is never rewritten on a writable open.
    expect(fsSync.readFileSync(path.join(dir, 'voltage', 'metadata.json'), 'utf8')).toBe(ISF_METADATA);
    // The ISF sub-database registers too when opened writable.
    const sub = (await db.get('sub')) as DataBase;
    expect(sub.id).toBe('2024-02-14_126397_Sub0001');
    expect(await sb.registry.lookup(sub.id)).toBe(path.join(dir, 'sub', 'db'));
    // And new keys written next to Python's read back.
    await db.set('from_node', new Float64Array([1, 2]));
    expect(((await db.get('from_node')) as NdArray).data).toEqual(new Float64Array([1, 2]));
  });

  it('a legacy ModelDataBase folder (dbcore.pickle) is refused with NotADataBaseError, whatever the options', async () => {
    const dir = path.join(sb.root, 'mdb');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'dbcore.pickle'), new Uint8Array([0x80, 0x02]));
    await fs.writeFile(path.join(dir, 'sqlitedict.db'), '');
    for (const options of [{}, { readonly: true }, { nocreate: true }]) {
      const err = await caught(() => DataBase.open(dir, options));
      expect(err).toBeInstanceOf(NotADataBaseError);
      expect(err.message).toBe(`${dir}: holds a legacy ModelDataBase (dbcore.pickle); convert it with Python ISF before opening it here`);
    }
    expect(ls(dir)).toEqual(['dbcore.pickle', 'sqlitedict.db']);
    const onlySqlite = path.join(sb.root, 'mdb2');
    await fs.mkdir(onlySqlite);
    await fs.writeFile(path.join(onlySqlite, 'sqlitedict.db'), '');
    expect((await caught(() => DataBase.open(onlySqlite))).message).toBe(`${onlySqlite}: holds a legacy ModelDataBase (sqlitedict.db); convert it with Python ISF before opening it here`);
  });
});

describe('hand-built .npy files (no NumPy needed)', () => {
  async function load(bytes: Uint8Array, loaderName = 'numpy_to_npy'): Promise<NdArray> {
    const dir = path.join(sb.root, `db-${Math.random().toString(36).slice(2)}`);
    const db = await DataBase.open(dir);
    await writeKey(dir, 'k', `data_base.isf_data_base.IO.LoaderDumper.${loaderName}`, { 'np.npy': bytes });
    return (await db.get('k')) as NdArray;
  }

  it('big-endian >f8 with NaN/inf/-0 reads as native float64', async () => {
    const values = [1.5, Number.NaN, -Infinity, -0, 5e-324];
    const a = await load(npyBytes('>f8', false, [5], bigEndianFloat64(values)));
    expect(a.dtype).toBe('float64');
    expect(a.data).toBeInstanceOf(Float64Array);
    expect([...a.data].map((v) => Object.is(v, -0) ? '-0' : String(v))).toEqual(['1.5', 'NaN', '-Infinity', '-0', '5e-324']);
  });

  it('Fortran order 3-d becomes C order', async () => {
    // a[i][j][k] = 100i + 10j + k, shape (2, 3, 2), stored with the first index fastest.
    const fortran: number[] = [];
    for (let k = 0; k < 2; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) fortran.push(100 * i + 10 * j + k);
    const a = await load(npyBytes('<i4', true, [2, 3, 2], new Uint8Array(new Int32Array(fortran).buffer)));
    const c: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) c.push(100 * i + 10 * j + k);
    expect(a.shape).toEqual([2, 3, 2]);
    expect([...a.data]).toEqual(c);
  });

  it('a v2.0 header reads', async () => {
    const a = await load(npyBytes('<i4', false, [2], new Uint8Array(new Int32Array([7, -7]).buffer), 2));
    expect([...a.data]).toEqual([7, -7]);
  });

  it('unsupported dtypes are refused naming the file, not misread', async () => {
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir);
    await writeKey(dir, 'obj', 'data_base.isf_data_base.IO.LoaderDumper.numpy_to_npy', { 'np.npy': npyBytes('|O', false, [1], new Uint8Array(8)) });
    const err = await caught(() => db.get('obj'));
    expect(err.name).toBe('CorruptKeyError');
    expect(err.message).toContain(path.join(dir, 'obj', 'np.npy'));
    expect(err.message).toContain("unsupported dtype '|O' (object arrays hold pickled Python objects)");
  });
});

describe('NumPy interop', () => {
  const it_ = NUMPY ? it : it.skip;

  it_('numpy-written files (every dtype, big-endian, Fortran order, v2.0 header, empty, npz) load exactly', async () => {
    const dir = await makeTemp('isfdb-np-');
    const manifest = JSON.parse(python(`
import numpy as np, json, os, sys, zipfile
out = sys.argv[1]
rng = np.random.default_rng(7)
cases = {}
def add(name, arr, kind='npy', **kw):
    os.makedirs(os.path.join(out, name))
    f = os.path.join(out, name, 'np.' + kind)
    if kind == 'npy':
        if 'version' in kw:
            with open(f, 'wb') as fh:
                np.lib.format.write_array(fh, arr, version=kw['version'])
        else:
            np.save(f, arr)
    elif kw.get('compressed', True):
        np.savez_compressed(f, arr)
    else:
        np.savez(f, arr)
    c = np.ascontiguousarray(arr)
    c = c.astype(c.dtype.newbyteorder('<'))
    cases[name] = {'kind': kind, 'dtype': str(arr.dtype.name), 'shape': list(arr.shape), 'hex': c.tobytes().hex()}
for dt in ['bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64']:
    if dt == 'bool':
        a = rng.integers(0, 2, size=(3, 4)).astype(bool)
    elif dt.startswith('float'):
        a = rng.normal(size=(3, 4)).astype(dt)
        a[0, 0] = np.nan; a[0, 1] = -np.inf; a[0, 2] = -0.0
    else:
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, size=(3, 4), dtype=dt, endpoint=True)
        a[0, 0] = info.min; a[0, 1] = info.max
    add('le_' + dt, a)
    if a.dtype.itemsize > 1:
        add('be_' + dt, a.astype(a.dtype.newbyteorder('>')))
    add('f_' + dt, np.asfortranarray(rng.normal(size=(2, 3, 4)) * 10).astype(dt))
    add('npz_' + dt, a, 'npz')
add('v2', np.arange(10, dtype='<f8'), version=(2, 0))
add('v3', np.arange(4, dtype='<i2'), version=(3, 0))
add('empty1', np.zeros((0,), dtype='<f8'))
add('empty3', np.zeros((2, 0, 3), dtype='>i4'))
add('d1', np.linspace(0, 1, 7))
add('d3', np.arange(24, dtype='<u2').reshape(2, 3, 4))
add('npz_stored', np.arange(5, dtype='<i8'), 'npz', compressed=False)
print(json.dumps(cases))
`, [dir])) as Record<string, { kind: 'npy' | 'npz'; dtype: string; shape: number[]; hex: string }>;
    expect(Object.keys(manifest).length).toBeGreaterThan(40);
    await fs.writeFile(path.join(dir, 'db_state.json'), '{"_registeredDumpers": [], "_unique_id": "2024-01-01_1_npcases", "_registered_to_path": "None"}');
    for (const [name, c] of Object.entries(manifest)) {
      await fs.writeFile(path.join(dir, name, 'Loader.json'), `{"Loader": "data_base.isf_data_base.IO.LoaderDumper.numpy_to_${c.kind}"}`);
    }
    const db = await DataBase.open(dir, { readonly: true });
    for (const [name, c] of Object.entries(manifest)) {
      const a = (await db.get(name)) as NdArray;
      expect(a.dtype, name).toBe(c.dtype);
      expect([...a.shape], name).toEqual(c.shape);
      expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).toString('hex'), name).toBe(c.hex);
    }
  });

  it_('NumPy loads our np.npy and np.npz files exactly (np.load)', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const arrays: Record<string, NdArray> = {
      f64_2d: { dtype: 'float64', shape: [2, 3], data: new Float64Array([0.1, Number.NaN, -0, Infinity, -1e300, 5e-324]) },
      f32_3d: { dtype: 'float32', shape: [2, 2, 2], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8.5]) },
      i64: { dtype: 'int64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n]) },
      u64: { dtype: 'uint64', shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
      i8: { dtype: 'int8', shape: [2], data: new Int8Array([-128, 127]) },
      i16: { dtype: 'int16', shape: [1, 2], data: new Int16Array([-32768, 32767]) },
      i32: { dtype: 'int32', shape: [2], data: new Int32Array([-2147483648, 2147483647]) },
      u8: { dtype: 'uint8', shape: [2], data: new Uint8Array([0, 255]) },
      u16: { dtype: 'uint16', shape: [2], data: new Uint16Array([0, 65535]) },
      u32: { dtype: 'uint32', shape: [2], data: new Uint32Array([0, 4294967295]) },
      bool: { dtype: 'bool', shape: [4], data: new Uint8Array([1, 0, 0, 1]) },
      empty: { dtype: 'float64', shape: [0], data: new Float64Array(0) },
      empty3: { dtype: 'int32', shape: [2, 0, 3], data: new Int32Array(0) },
    };
    const expected: Record<string, { dtype: string; shape: number[]; hex: string }> = {};
    for (const [name, a] of Object.entries(arrays)) {
      await db.set(`npy_${name}`, a, 'numpy_to_npy');
      await db.set(`npz_${name}`, a, 'numpy_to_npz');
      expected[name] = { dtype: a.dtype, shape: [...a.shape], hex: Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).toString('hex') };
    }
    const seen = JSON.parse(python(`
import numpy as np, json, sys, os
base = sys.argv[1]
names = json.loads(sys.argv[2])
out = {}
for n in names:
    for kind in ['npy', 'npz']:
        f = os.path.join(base, kind + '_' + n, 'np.' + kind)
        if kind == 'npy':
            a = np.load(f, allow_pickle=False)
        else:
            with np.load(f, allow_pickle=False) as z:
                assert list(z.keys()) == ['arr_0'], list(z.keys())
                a = z['arr_0']
        assert a.dtype.byteorder in ('<', '=', '|'), a.dtype
        out[kind + '_' + n] = {'dtype': a.dtype.name, 'shape': list(a.shape), 'hex': np.ascontiguousarray(a).tobytes().hex(), 'c': bool(a.flags['C_CONTIGUOUS'])}
print(json.dumps(out))
`, [db.basedir, JSON.stringify(Object.keys(arrays))])) as Record<string, { dtype: string; shape: number[]; hex: string; c: boolean }>;
    for (const [name, want] of Object.entries(expected)) {
      for (const kind of ['npy', 'npz']) {
        const got = seen[`${kind}_${name}`]!;
        expect({ dtype: got.dtype, shape: got.shape, hex: got.hex }, `${kind}_${name}`).toEqual(want);
        expect(got.c).toBe(true);
      }
    }
  });

  it_('our npz is deflate-compressed with a single arr_0.npy member, as np.savez_compressed writes', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('z', new Float64Array(1000), 'numpy_to_npz');
    const out = python(`
import zipfile, sys
z = zipfile.ZipFile(sys.argv[1])
print([(i.filename, i.compress_type) for i in z.infolist()])
`, [path.join(db.basedir, 'z', 'np.npz')]);
    expect(out.trim()).toBe("[('arr_0.npy', 8)]");
  });
});

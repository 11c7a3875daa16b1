/**
 * Fuzz: generated malformed inputs (Loader.json, metadata.json, db_state.json, object_meta.json,
 * divisions.json, .npy headers, truncated or bit-flipped Parquet/npz/msgpack, simrun CSV lines,
 * param files, hostile key strings, symlinked key folders). Each must give a typed error or a
 * verify finding (or be harmless: the value read back unchanged); the process never crashes; no
 * file outside the database is created or changed (snapshot of the parent folder).
 */
import { createHash } from 'node:crypto';
import fsSync from 'node:fs';
import path from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { DataBase, Registry, isDataBaseError, isErrorFinding } from '../../src/index.js';
import { parseActivationCsv, parseTraceCsv, InputProblemError } from '../../initializers/simrun/parse-csv.js';
import { ParamSyntaxError, parsePyLiteral } from '../../initializers/simrun/param-file.js';
import { rng } from './values.js';

export interface FuzzOptions { root: string; registryDir: string; inputs: number; seed?: number; log?: (line: string) => void }
export interface FuzzFigures {
  inputsTried: number;
  typedErrors: number;
  verifyFindings: number;
  harmless: number;
  byTarget: Record<string, number>;
  untypedErrors: number;
  silentCorruptions: number;
  outsideChanges: number;
  failures: string[];
}

type Random = ReturnType<typeof rng>;
const KEYS = ['a', 'z', 'm', 't', 'd', 's/b'] as const;

export async function runFuzz(options: FuzzOptions): Promise<FuzzFigures> {
  const log = options.log ?? (() => undefined);
  const f: FuzzFigures = { inputsTried: 0, typedErrors: 0, verifyFindings: 0, harmless: 0, byTarget: {}, untypedErrors: 0, silentCorruptions: 0, outsideChanges: 0, failures: [] };
  const fail = (msg: string): void => { f.failures.push(msg); if (f.failures.length <= 20) log(`  FAIL ${msg}`); };
  const random = rng(options.seed ?? 99);
  const registry = new Registry(options.registryDir);
  const parent = options.root;
  fsSync.mkdirSync(parent, { recursive: true });
  const template = path.join(parent, 'template');
  const dbDir = path.join(parent, 'db');
  // Things outside the database that must never change.
  fsSync.writeFileSync(path.join(parent, 'outside.txt'), 'do not touch');
  fsSync.mkdirSync(path.join(parent, 'neighbour', 'inner'), { recursive: true });
  fsSync.writeFileSync(path.join(parent, 'neighbour', 'inner', 'precious.bin'), Buffer.alloc(1000, 7));
  fsSync.writeFileSync(path.join(parent, 'neighbour', 'Loader.json'), '{"Loader": "numpy_to_npy"}');

  const db0 = await DataBase.open(template, { registry });
  await db0.set('a', new Float64Array([1, 2, 3, 4]));
  await db0.set('z', { dtype: 'int32', shape: [2, 2], data: new Int32Array([1, 2, 3, 4]) }, 'numpy_to_npz');
  await db0.set('m', { x: 1, y: 'two', z: [3] });
  await db0.set('t', tableFromArrays({ id: new Int32Array([1, 2, 3]), v: new Float64Array([0.5, 1.5, 2.5]) }));
  let haveDask = true;
  try {
    await db0.set('d', [tableFromArrays({ v: new Float64Array([1, 2]) }), tableFromArrays({ v: new Float64Array([3, 4]) })]);
  } catch (err) {
    haveDask = false;
    log(`  note: dask_to_parquet not usable here (${(err as Error).message.slice(0, 120)}); its inputs are skipped`);
  }
  await db0.set(['s', 'b'], new Uint8Array([9, 9, 9]));
  await db0.createManagedFolder('f');
  // Values read back at the place the fuzzed copies live (some values carry their folder).
  const originals = new Map<string, string>();
  fsSync.cpSync(template, dbDir, { recursive: true, verbatimSymlinks: true });
  const dbCopy = await DataBase.open(dbDir, { registry, readonly: true });
  for (const k of KEYS) {
    if (k === 'd' && !haveDask) continue;
    originals.set(k, digest(await dbCopy.get(k.includes('/') ? k.split('/') : k)));
  }
  const snapshotBefore = snapshotOutside(parent, [template, dbDir]);

  for (let i = 0; i < options.inputs; i++) {
    f.inputsTried++;
    const roll = random.int(100);
    try {
      if (roll < 8) await fuzzKey(random, dbDir, template, registry, f, fail);
      else if (roll < 14) fuzzCsv(random, f, fail);
      else if (roll < 20) fuzzParams(random, f, fail);
      else await fuzzDb(random, dbDir, template, registry, haveDask, originals, f, fail);
    } catch (err) {
      f.untypedErrors++;
      fail(`input ${i}: escaped: ${String((err as Error)?.stack ?? err).slice(0, 400)}`);
    }
    if (i % 50 === 49 || i === options.inputs - 1) {
      const now = snapshotOutside(parent, [template, dbDir]);
      const changed = diffSnapshots(snapshotBefore, now);
      if (changed.length > 0) { f.outsideChanges += changed.length; fail(`input ${i}: files outside the database changed: ${changed.join(', ')}`); }
    }
    if ((i + 1) % 200 === 0) log(`  fuzz ${i + 1}/${options.inputs}: ${f.typedErrors} typed errors, ${f.verifyFindings} findings, ${f.harmless} harmless, ${f.failures.length} failures`);
  }
  return f;
}

function count(f: FuzzFigures, target: string): void { f.byTarget[target] = (f.byTarget[target] ?? 0) + 1; }

async function fuzzDb(random: Random, dbDir: string, template: string, registry: Registry, haveDask: boolean, originals: Map<string, string>, f: FuzzFigures, fail: (m: string) => void): Promise<void> {
  fsSync.rmSync(dbDir, { recursive: true, force: true });
  fsSync.cpSync(template, dbDir, { recursive: true, verbatimSymlinks: true });
  const keys = KEYS.filter((k) => haveDask || k !== 'd');
  const key = random.pick(keys);
  const folder = path.join(dbDir, key.replace('/', '/db/'));
  const files = fsSync.readdirSync(folder).filter((n) => fsSync.statSync(path.join(folder, n)).isFile());
  const choice = random.int(10);
  let target: string;
  if (choice < 2) target = path.join(folder, 'Loader.json');
  else if (choice < 4) target = path.join(folder, 'metadata.json');
  else if (choice < 5) target = random.chance(0.5) ? path.join(dbDir, 'db_state.json') : path.join(dbDir, 's', 'db', 'db_state.json');
  else if (choice < 6 && key === 'a') target = '(symlink)';
  else target = path.join(folder, random.pick(files));
  const name = target === '(symlink)' ? 'symlinked key folder' : path.basename(target).replace(/\.\d+\.\d+\.parquet$/, '.N.i.parquet');
  count(f, name);
  if (target === '(symlink)') {
    fsSync.rmSync(folder, { recursive: true });
    fsSync.symlinkSync(path.join(path.dirname(dbDir), 'neighbour'), folder);
  } else mutateFile(random, target);

  let typed = false;
  let silent = false;
  const check = async (what: string, fn: () => Promise<unknown>): Promise<unknown> => {
    try {
      return await fn();
    } catch (err) {
      if (isDataBaseError(err)) { typed = true; return undefined; }
      f.untypedErrors++;
      fail(`${name} (${what}): untyped ${String((err as Error)?.stack ?? err).slice(0, 300)}`);
      return undefined;
    }
  };
  const db = (await check('open', () => DataBase.open(dbDir, { registry, readonly: true }))) as DataBase | undefined;
  if (db === undefined) { if (typed) f.typedErrors++; return; }
  await check('keys', () => db.keys({ recurse: true }));
  const k = key.includes('/') ? key.split('/') : key;
  const value = await check('get', () => db.get(k));
  await check('metadata', () => db.metadata(k));
  const report = (await check('verify', () => db.verify())) as Awaited<ReturnType<DataBase['verify']>> | undefined;
  await check('fsck', () => db.fsck());
  const found = report !== undefined && report.findings.some(isErrorFinding);
  if (value !== undefined && digest(value) !== originals.get(key) && !found) silent = true;
  // Writes next to the damage: an overwrite and a delete must stay inside the database.
  const writable = (await check('open writable', () => DataBase.open(dbDir, { registry, lockStaleMs: 2000 }))) as DataBase | undefined;
  if (writable !== undefined) {
    await check('fsck --repair', () => writable.fsck({ repair: true }));
    await check('overwrite', () => writable.set(k, new Uint8Array([1])));
    await check('delete', () => writable.delete(k));
  }
  if (silent) { f.silentCorruptions++; fail(`${name} of key ${key}: get returned a different value and verify found nothing`); return; }
  if (found) f.verifyFindings++;
  else if (typed) f.typedErrors++;
  else f.harmless++;
}

function mutateFile(random: Random, file: string): void {
  const data = fsSync.readFileSync(file);
  const isJson = file.endsWith('.json');
  const how = random.int(isJson ? 9 : 5);
  let out: Buffer | undefined = data;
  switch (how) {
    case 0: out = data.subarray(0, random.int(Math.max(1, data.length))); break; // truncate
    case 1: { out = Buffer.from(data); const at = random.int(out.length); out[at] = out[at]! ^ (1 << random.int(8)); break; } // bit flip
    case 2: out = Buffer.alloc(0); break;
    case 3: out = undefined; break; // delete
    case 4: { out = Buffer.from(data); const at = Math.min(out.length - 1, random.int(Math.min(out.length, 128))); out[at] = random.int(256); break; } // header byte
    case 5: out = Buffer.from(random.pick(['null', '[]', '123', '"x"', '{"Loader": 5}', '{"Loader": ""}', '{"dumper": null}', '{"_unique_id": 7}', '{"columns": "x"}', '[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]', '{"isfdb_checksums": {"../../outside.txt": "sha256:00"}}', '{"isfdb_checksums": {"np.npy": 5}}'])); break;
    case 6: out = Buffer.from([0xff, 0xfe, 0x7b, 0x22, 0xc3]); break; // invalid UTF-8
    case 7: out = Buffer.from(`{"Loader": "data_base.isf_data_base.IO.LoaderDumper.${random.pick(['numpy_to_npz', 'to_cloudpickle', 'pandas_to_parquet', 'just_create_isf_db', 'nope', '..', 'just_create_folder'])}"}`); break;
    case 8: out = Buffer.from(JSON.stringify({ big: 'x'.repeat(10_000 + random.int(100_000)) })); break;
  }
  if (out === undefined) fsSync.rmSync(file);
  else fsSync.writeFileSync(file, out);
}

const HOSTILE_KEYS = ['..', '.', '', '/', 'a/b', '../x', 'a\0b', 'ключ', '鍵', 'e\u0301', '😀', 'x'.repeat(10_240), ' a', 'a ', 'Loader.json', 'db', 'k.lock', 'x.deleting.ABCDE', '\\', 'C:\\x', '~', '$HOME', '%2e%2e'];

async function fuzzKey(random: Random, dbDir: string, template: string, registry: Registry, f: FuzzFigures, fail: (m: string) => void): Promise<void> {
  count(f, 'key string');
  fsSync.rmSync(dbDir, { recursive: true, force: true });
  fsSync.cpSync(template, dbDir, { recursive: true, verbatimSymlinks: true });
  const db = await DataBase.open(dbDir, { registry, lockStaleMs: 2000 });
  let key: string | string[] = random.pick(HOSTILE_KEYS);
  if (random.chance(0.3)) key = key + String.fromCharCode(random.int(0x3000));
  if (random.chance(0.3)) key = ['ok', key];
  const ops: Array<() => Promise<unknown>> = [() => db.set(key, new Uint8Array([1])), () => db.get(key), () => db.has(key), () => db.delete(key), () => db.createSubDb(key), () => db.createManagedFolder(key), () => db.rename('a', key), () => db.verify(key)];
  let allTyped = true;
  for (const op of ops) {
    try {
      await op();
      // A few unicode keys may be valid after all? None of the list is; report it.
      allTyped = false;
    } catch (err) {
      if (!isDataBaseError(err)) { f.untypedErrors++; fail(`key ${JSON.stringify(key).slice(0, 60)}: untyped ${String(err).slice(0, 200)}`); return; }
    }
  }
  if (allTyped) f.typedErrors++;
  else { f.silentCorruptions++; fail(`key ${JSON.stringify(key).slice(0, 60)} was accepted`); }
}

function fuzzCsv(random: Random, f: FuzzFigures, fail: (m: string) => void): void {
  count(f, 'simrun CSV');
  const good = random.chance(0.5)
    ? 't\tVm_soma\n0.0\t-70.1\n0.025\t-70.0\n'
    : 'synapse type\tsynapse ID\tsoma distance\tsection ID\tsection pt ID\tdendrite label\tactivation times\nL4ss_0\t0\t120.5\t12\t3\tbasal\t10.5,20.25,\n';
  const bytes = Buffer.from(good);
  const how = random.int(4);
  if (how === 0) bytes[random.int(bytes.length)] = random.int(256);
  const input = how === 1 ? bytes.subarray(0, random.int(bytes.length)) : how === 2 ? Buffer.from(randomText(random, 200)) : bytes;
  try {
    if (good.startsWith('t')) parseTraceCsv(input, 'fuzz.csv');
    else parseActivationCsv(input, 'fuzz.csv', 'synapses');
    f.harmless++;
  } catch (err) {
    if (err instanceof InputProblemError || isDataBaseError(err)) f.typedErrors++;
    else { f.untypedErrors++; fail(`simrun CSV: untyped ${String((err as Error)?.stack ?? err).slice(0, 300)}`); }
  }
}

function fuzzParams(random: Random, f: FuzzFigures, fail: (m: string) => void): void {
  count(f, 'param file');
  const good = "{'neuron': {'filename': 'cell.hoc', 'Soma': {'Vinit': -75.0, 'mechanisms': ('pas', 'hh')}}, 'sim': {'tStop': 300, 'T': True, 'x': None, 'n': [1, 2.5e-3, -4]}}";
  const how = random.int(4);
  let text = good;
  if (how === 0) text = good.slice(0, random.int(good.length));
  else if (how === 1) { const at = random.int(good.length); text = good.slice(0, at) + String.fromCharCode(random.int(128)) + good.slice(at + 1); }
  else if (how === 2) text = randomText(random, 300);
  else text = '['.repeat(5000) + ']'.repeat(random.int(5000));
  try {
    parsePyLiteral(text);
    f.harmless++;
  } catch (err) {
    if (err instanceof ParamSyntaxError || isDataBaseError(err)) f.typedErrors++;
    else { f.untypedErrors++; fail(`param file: untyped ${String((err as Error)?.stack ?? err).slice(0, 300)}`); }
  }
}

function randomText(random: Random, length: number): string {
  const alphabet = "{}[]()'\",:.-+eE0123456789 \t\nabcTrueFalseNone\\\u00e9\u0000";
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[random.int(alphabet.length)];
  return out;
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    if (v !== null && typeof v === 'object' && 'toArray' in v && typeof (v as { toArray: unknown }).toArray === 'function' && 'schema' in v) {
      return (v as { toArray(): Array<{ toJSON(): unknown }> }).toArray().map((r) => r.toJSON());
    }
    return v;
  }) ?? 'undefined').digest('hex');
}

function snapshotOutside(parent: string, exclude: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (dir: string): void => {
    for (const e of fsSync.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (exclude.includes(full)) continue;
      const st = fsSync.lstatSync(full);
      if (e.isDirectory()) { out.set(full, 'dir'); visit(full); } else out.set(full, `${st.size}:${st.mtimeMs}:${e.isFile() ? createHash('sha256').update(fsSync.readFileSync(full)).digest('hex') : 'link'}`);
    }
  };
  visit(parent);
  return out;
}

function diffSnapshots(a: Map<string, string>, b: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) changed.push(k);
  for (const k of b.keys()) if (!a.has(k)) changed.push(`${k} (new)`);
  return changed;
}

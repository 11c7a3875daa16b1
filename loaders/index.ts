/**
 * Loader names -> loaders. Built-ins load lazily (the Parquet codec is heavy); ISF's dotted
 * Python names resolve by their last part; users can register their own loaders.
 */
import { UnknownLoaderError } from '../src/errors.js';
import { PYTHON_ONLY_LOADERS, pythonOnlyLoader } from './python_only.js';
import type { Loader } from './types.js';

type LoaderImport = () => Promise<{ loader: Loader<never> }>;

const BUILT_IN: ReadonlyMap<string, LoaderImport> = new Map<string, LoaderImport>([
  ['numpy_to_npy', () => import('./numpy_to_npy.js')],
  ['numpy_to_npz', () => import('./numpy_to_npz.js')],
  ['value_to_msgpack', () => import('./value_to_msgpack.js')],
  ['to_msgpack', () => import('./to_msgpack.js')],
  ['cell_to_msgpack', () => import('./cell_to_msgpack.js')],
  ['just_create_folder', () => import('./just_create_folder.js')],
  ['just_create_isf_db', () => import('./just_create_isf_db.js')],
  ['pandas_to_parquet', () => import('./pandas_to_parquet.js')],
  ['dask_to_parquet', () => import('./dask_to_parquet.js')],
]);

/**
 * Built-ins tried, in order, when `set` gets no dumper. Each has a cheap guard so that heavy
 * loaders are imported only for values they may take.
 */
const DEFAULT_DUMPER_ORDER: ReadonlyArray<{ name: string; mayTake: (value: unknown) => boolean }> = [
  { name: 'numpy_to_npy', mayTake: (v) => ArrayBuffer.isView(v) || hasFields(v, 'dtype', 'shape', 'data') },
  { name: 'cell_to_msgpack', mayTake: (v) => hasFields(v, 'tVec', 'sections', 'synapses', 'hoc') },
  // Arrow Tables (and arrays of them) are recognised without importing the Parquet codec first.
  { name: 'pandas_to_parquet', mayTake: (v) => hasFields(v, 'schema', 'batches') },
  { name: 'dask_to_parquet', mayTake: (v) => hasFields(v, 'divisions', 'schema') || (Array.isArray(v) && v.length > 0 && hasFields(v[0], 'schema', 'batches')) },
  // Plain values in ISF's own format, which Python ISF loads; what plain msgpack cannot hold
  // (typed arrays, bigints, -0) in ours.
  { name: 'to_msgpack', mayTake: () => true },
  { name: 'value_to_msgpack', mayTake: () => true },
];

const userLoaders = new Map<string, Loader<never>>();
const loaded = new Map<string, Promise<Loader<never>>>();

/** The short name of a loader: ISF writes `data_base.isf_data_base.IO.LoaderDumper.<name>`. */
export function shortLoaderName(name: string): string {
  const last = name.split('.').pop();
  return last === undefined || last === '' ? name : last;
}

/** The dotted name written into Loader.json, as Python ISF expects it. */
export function fullLoaderName(name: string): string {
  return `data_base.isf_data_base.IO.LoaderDumper.${shortLoaderName(name)}`;
}

/** Make a loader available by its name (and any ISF-prefixed spelling of it). */
export function registerLoader(loader: Loader<never>): void {
  if (typeof loader?.name !== 'string' || loader.name === '' || loader.name.includes('.')) {
    throw new TypeError('a loader needs a non-empty name without dots');
  }
  for (const member of ['canDump', 'dump', 'load'] as const) {
    if (typeof loader[member] !== 'function') throw new TypeError(`loader '${loader.name}' has no ${member}() function`);
  }
  userLoaders.set(loader.name, loader);
}

export function unregisterLoader(name: string): boolean {
  return userLoaders.delete(name);
}

/** The loader for a name; UnknownLoaderError when there is none. */
export async function getLoader(name: string, key?: string): Promise<Loader<never>> {
  const short = shortLoaderName(name);
  const user = userLoaders.get(short);
  if (user !== undefined) return user;
  if ((PYTHON_ONLY_LOADERS as readonly string[]).includes(short)) return pythonOnlyLoader(short);
  const importer = BUILT_IN.get(short);
  if (importer === undefined) throw new UnknownLoaderError(name, key);
  let promise = loaded.get(short);
  if (promise === undefined) {
    promise = importer().then((module) => module.loader);
    loaded.set(short, promise);
  }
  return promise;
}

/** Every name `getLoader` resolves. */
export function listLoaders(): { builtIn: string[]; user: string[]; pythonOnly: string[] } {
  return { builtIn: [...BUILT_IN.keys()], user: [...userLoaders.keys()], pythonOnly: [...PYTHON_ONLY_LOADERS] };
}

/** The loader `set` uses when none is named: user loaders first, then the built-ins in order. */
export async function defaultDumperFor(value: unknown): Promise<Loader<never> | undefined> {
  for (const loader of [...userLoaders.values()].reverse()) {
    if (loader.canDump(value)) return loader;
  }
  for (const candidate of DEFAULT_DUMPER_ORDER) {
    if (!candidate.mayTake(value)) continue;
    const loader = await getLoader(candidate.name);
    if (loader.canDump(value)) return loader;
  }
  return undefined;
}

/** Why no loader took `value` as default dumper: the loaders asked, and what value_to_msgpack (which takes any plain value) objects to. */
export async function whyNoDefaultDumper(value: unknown): Promise<string> {
  const tried = [...[...userLoaders.keys()].reverse(), ...DEFAULT_DUMPER_ORDER.filter((c) => c.mayTake(value)).map((c) => c.name)];
  const { firstUnstorable } = await import('./value_to_msgpack.js');
  const problem = firstUnstorable(value) ?? 'no loader accepted it';
  return `${problem} (loaders tried: ${tried.join(', ')})`;
}

function hasFields(value: unknown, ...fields: string[]): boolean {
  return typeof value === 'object' && value !== null && fields.every((field) => field in value);
}

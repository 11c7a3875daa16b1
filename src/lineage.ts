/**
 * Lineage-aware cached computations. A recipe is what a computed key was made from: its
 * parameters (canonical JSON), the content checksums of the input keys it read, and the identity
 * of its code (a version string, or the hash of a function's source text). maybeCalculate stores
 * the recipe in the result's metadata.json (`isfdb_recipe`, a field Python ISF ignores), returns
 * the stored value while the recipe is unchanged, and recomputes otherwise. `findStale` walks
 * the recorded inputs to list keys whose inputs changed since they were computed, transitively.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { InvalidInputError, ReadonlyError } from './errors.js';
import { RECIPE_FIELD, recipeOf, type RecipeJson } from './recipe.js';
import { pathExists } from './store/durable.js';
import { formatKey, keyParts, type Key } from './keys.js';
import { CHECKSUMS_FIELD, LOADER_FILE, METADATA_FILE, readFolderMetadata, type MetadataJson } from './ondisk.js';
import { checksumFolder, contentDigest } from './store/checksum.js';

export { RECIPE_FIELD, recipeOf, type RecipeJson } from './recipe.js';

/** What a computation depends on, as given to maybeCalculate. */
export interface RecipeOptions {
  /** Any JSON-able configuration (hashed as canonical JSON with sorted object keys). */
  params?: unknown;
  /** Keys of this database whose current values the computation reads. */
  inputs?: readonly Key[];
  /** A version string for the code, or the function itself (its source text is hashed). */
  code?: string | ((...args: never[]) => unknown);
}

export function hasRecipeOptions(options: RecipeOptions): boolean {
  return options.params !== undefined || (options.inputs !== undefined && options.inputs.length > 0) || options.code !== undefined;
}

/** JSON with object keys sorted at every level; refuses what JSON cannot represent faithfully. */
export function canonicalJson(value: unknown, where = 'params'): string {
  return JSON.stringify(canonicalize(value, where, new Set()));
}

function canonicalize(value: unknown, where: string, seen: Set<object>): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw InvalidInputError.value(where, `${value} is not representable in JSON`);
    return value;
  }
  if (typeof value !== 'object') throw InvalidInputError.value(where, `a ${typeof value} is not JSON-able; pass plain data (or a string describing it)`);
  if (seen.has(value)) throw InvalidInputError.value(where, 'contains a cycle');
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return canonicalize((toJSON as () => unknown).call(value), where, seen);
  if (ArrayBuffer.isView(value)) throw InvalidInputError.value(where, 'typed arrays are not JSON-able; pass Array.from(...) or store the array as an input key');
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item, i) => (item === undefined ? null : canonicalize(item, `${where}[${i}]`, seen)));
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw InvalidInputError.value(where, `a ${(value as object).constructor?.name ?? 'class instance'} is not plain JSON data`);
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonicalize(v, `${where}.${k}`, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** How the code is recorded: the version string as given, or `source:<sha256 of the source text>`. */
export function codeIdentity(code: RecipeOptions['code']): string | null {
  if (code === undefined) return null;
  if (typeof code === 'string') return code;
  if (typeof code === 'function') return `source:${sha256(Function.prototype.toString.call(code))}`;
  throw InvalidInputError.value('code', 'pass a version string or the function itself');
}

/** One digest of the value in a key folder: its recorded checksums, or (containers, old keys) computed now. */
export async function folderDigest(folder: string): Promise<string> {
  const meta = await readFolderMetadata(folder);
  const recorded = meta[CHECKSUMS_FIELD];
  if (recorded !== undefined) return contentDigest(recorded);
  return contentDigest(await checksumFolder(folder, [LOADER_FILE, METADATA_FILE]));
}

/** An input as recorded: the key as given, the content digest, and where the input's folder is. */
export interface InputFacts {
  checksum: string;
  /** The input's key folder, absolute. */
  folder: string;
}

/** The facts of an existing input key whose folder is `folder`. */
export async function inputFacts(folder: string): Promise<InputFacts> {
  return { checksum: await folderDigest(folder), folder };
}

/**
 * The recipe of a computation now: params, code identity, and the inputs' current digests.
 * `resultDb` is the folder of the database holding the result: input folders are recorded
 * relative to it, so staleness can be checked from any database object.
 */
export async function buildRecipe(options: RecipeOptions, factsOf: (key: Key) => Promise<InputFacts>, resultDb: string): Promise<RecipeJson> {
  const params = options.params === undefined ? null : (JSON.parse(canonicalJson(options.params)) as unknown);
  const code = codeIdentity(options.code);
  const byKey = new Map<string, string[]>();
  for (const input of options.inputs ?? []) {
    const parts = keyParts(input);
    byKey.set(JSON.stringify(parts), parts);
  }
  const inputs: RecipeJson['inputs'] = [];
  for (const parts of [...byKey.keys()].sort().map((id) => byKey.get(id)!)) {
    const facts = await factsOf(parts);
    inputs.push({ key: parts, checksum: facts.checksum, folder: path.relative(resultDb, facts.folder).split(path.sep).join('/') });
  }
  const hash = sha256(canonicalJson({ code, inputs: inputs.map((i) => [i.key, i.checksum]), params }, 'recipe'));
  return { hash, params, code, inputs };
}

/** What maybeCalculate needs from the database; built by DataBase so lineage stays out of its internals. */
export interface CalculationPort {
  readonly basedir: string;
  readonly shown: string;
  readonly readonly: boolean;
  exists(): Promise<boolean>;
  metadata(): Promise<MetadataJson>;
  read(): Promise<unknown>;
  /** Folder of the database that holds the result. */
  readonly resultDb: string;
  inputFacts(key: Key): Promise<InputFacts>;
  /** Run `body` holding the key's lock; `write` stores a value (with extra metadata fields) under that lock. */
  withLock<R>(body: (write: (value: unknown, extraMetadata: Record<string, unknown>) => Promise<void>) => Promise<R>): Promise<R>;
}

export interface CalculateOptions extends RecipeOptions {
  force?: boolean;
}

/**
 * Return the stored value when it is fresh, else compute, store and return it, as `get` returns
 * it: the value read back, on the first call as on later ones (a Float64Array stored by
 * numpy_to_npy comes back as `{ dtype, shape, data }` both times, never once as itself). Without recipe
 * options a stored value is always fresh (ISF's maybe_calculate). The check, the computation and
 * the write happen under the key's lock, so concurrent callers (in any process) compute once.
 */
export async function calculate(port: CalculationPort, fn: () => unknown, options: CalculateOptions): Promise<unknown> {
  const withRecipe = hasRecipeOptions(options);
  const check = async (): Promise<{ fresh: true; value: unknown } | { fresh: false; recipe: RecipeJson | undefined }> => {
    const recipe = withRecipe ? await buildRecipe(options, (key) => port.inputFacts(key), port.resultDb) : undefined;
    if (options.force || !(await port.exists())) return { fresh: false, recipe };
    if (recipe === undefined || recipeOf(await port.metadata())?.hash === recipe.hash) {
      return { fresh: true, value: await port.read() };
    }
    return { fresh: false, recipe };
  };
  if (!options.force) {
    // Lock-free fast path: writes are atomic renames, so a fresh value can be read without the lock.
    const first = await check();
    if (first.fresh) return first.value;
  }
  if (port.readonly) throw new ReadonlyError('calculate', port.basedir, port.shown);
  return port.withLock(async (write) => {
    const now = await check();
    if (now.fresh) return now.value;
    await write(await fn(), now.recipe === undefined ? {} : { [RECIPE_FIELD]: now.recipe });
    return port.read();
  });
}

/** Why a key is stale. */
export interface StaleReason {
  /** The recorded input key. */
  input: string[];
  /** 'changed': its content differs from when the key was computed; 'missing': it is gone; 'stale': it is itself stale. */
  kind: 'changed' | 'missing' | 'stale';
  /** The input's content digest recorded at computation time. */
  recorded: string;
  /** Its content digest now (null when missing). */
  current: string | null;
  message: string;
}

export interface StaleKey {
  key: string[];
  reasons: StaleReason[];
}

/** Every computed key (all sub-database levels) whose recorded inputs changed since it was computed, transitively. */
export async function findStale(keyFolders: Iterable<{ key: string[]; folder: string }>): Promise<StaleKey[]> {
  const verdicts = new Map<string, StaleReason[]>();
  const visiting = new Set<string>();
  const digests = new Map<string, string | null>();
  const currentDigest = async (folder: string): Promise<string | null> => {
    if (!digests.has(folder)) {
      const exists = await pathExists(path.join(folder, LOADER_FILE));
      digests.set(folder, exists ? await folderDigest(folder) : null);
    }
    return digests.get(folder) ?? null;
  };
  /** Reasons why the value in `folder` (shown as `shown`) is stale; [] when fresh or not computed. */
  const evaluate = async (folder: string, shown: string): Promise<StaleReason[]> => {
    const known = verdicts.get(folder);
    if (known !== undefined) return known;
    if (visiting.has(folder)) return []; // a cycle (only possible by hand-edited metadata)
    const recipe = await readFolderMetadata(folder).then(recipeOf, () => undefined);
    if (recipe === undefined || recipe.inputs.length === 0) return [];
    visiting.add(folder);
    const reasons: StaleReason[] = [];
    for (const input of recipe.inputs) {
      const inputShown = formatKey(input.key);
      const inputFolder = path.resolve(path.dirname(folder), input.folder);
      const current = await currentDigest(inputFolder);
      if (current === null) {
        reasons.push({ input: input.key, kind: 'missing', recorded: input.checksum, current, message: `input '${inputShown}' of '${shown}' no longer exists` });
      } else if (current !== input.checksum) {
        reasons.push({
          input: input.key, kind: 'changed', recorded: input.checksum, current,
          message: `input '${inputShown}' changed since '${shown}' was computed (${short(input.checksum)} -> ${short(current)})`,
        });
      } else if ((await evaluate(inputFolder, inputShown)).length > 0) {
        reasons.push({ input: input.key, kind: 'stale', recorded: input.checksum, current, message: `input '${inputShown}' of '${shown}' is itself stale` });
      }
    }
    visiting.delete(folder);
    verdicts.set(folder, reasons);
    return reasons;
  };
  const out: StaleKey[] = [];
  for (const { key, folder } of keyFolders) {
    const reasons = await evaluate(folder, formatKey(key));
    if (reasons.length > 0) out.push({ key, reasons });
  }
  return out;
}

function short(digest: string): string {
  const hex = digest.slice(digest.indexOf(':') + 1);
  return hex.slice(0, 12);
}


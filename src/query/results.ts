/**
 * Results unique by their parameters (Mozaik's rule). A collection is a sub-database; each entry
 * is a plain key of it, named after the hash of its params' canonical JSON and written through
 * maybeCalculate, so its metadata.json records the params (`isfdb_recipe.params`). Equal params
 * therefore map to one key, and the key's lock serialises two writers of the same params.
 * Python ISF lists and reads the entries like any key.
 */
import { createHash } from 'node:crypto';
import { CorruptKeyError, DuplicateResultError, InvalidInputError, QueryError } from '../errors.js';
import type { DataBase } from '../database.js';
import { formatKey, keyParts, type Key } from '../keys.js';
import { RECIPE_FIELD, canonicalJson } from '../lineage.js';
import { METADATA_FILE } from '../ondisk.js';
import { flatten, matchRecords } from './records.js';
import { isPlainObject, type Where } from './where.js';

export type Params = Record<string, unknown>;

export interface ResultEntry {
  /** The entry's key in the parent database (the collection's key, then the entry's name). */
  key: string[];
  params: Params;
  load(): Promise<unknown>;
}

export interface AddOptions {
  /** Overwrite an entry with equal params instead of refusing. */
  replace?: boolean;
}

/** Entry names: a prefix Python users recognise, then 20 hex digits of the params' hash. */
const ENTRY_PREFIX = 'params_';

export class ResultsCollection {
  private constructor(
    private readonly parent: DataBase,
    readonly key: string[],
    private sub: DataBase | undefined,
  ) {}

  static async open(db: DataBase, name: Key): Promise<ResultsCollection> {
    const key = keyParts(name);
    const sub = (await db.has(key)) ? await db.get(key) : undefined;
    if (sub !== undefined && !isDataBase(sub)) {
      throw InvalidInputError.value(`results '${formatKey(key)}'`, `key holds a ${await db.loaderOf(key)} value, not a sub-database of results; choose another name`);
    }
    return new ResultsCollection(db, key, sub);
  }

  get name(): string {
    return formatKey(this.key);
  }

  /** Store `value` under `params`; refuses equal params already present unless `replace`. */
  async add(params: Params, value: unknown, options: AddOptions = {}): Promise<ResultEntry> {
    if (!isPlainObject(params)) throw InvalidInputError.value(`params of results '${this.name}'`, 'must be a plain object of parameter name -> value');
    const canonical = canonicalJson(params);
    const name = entryName(canonical);
    this.sub ??= await this.parent.createSubDb(this.key);
    const sub = this.sub;
    if (!options.replace && (await sub.has(name))) throw new DuplicateResultError(this.name, formatKey([...this.key, name]), canonical);
    let written = false;
    await sub.maybeCalculate(name, () => {
      written = true;
      return value;
    }, { params: JSON.parse(canonical) as Params, force: options.replace === true });
    // Another writer stored the same params between our check and our lock.
    if (!written) throw new DuplicateResultError(this.name, formatKey([...this.key, name]), canonical);
    return this.entry(name, JSON.parse(canonical) as Params);
  }

  /** Every entry; an entry whose metadata records no params is reported as a CorruptKeyError. */
  async entries(): Promise<ResultEntry[]> {
    const sub = this.sub;
    if (sub === undefined) return [];
    const out: ResultEntry[] = [];
    for (const name of await sub.keys()) {
      const recipe = (await sub.metadata(name) as Record<string, unknown>)[RECIPE_FIELD];
      const params = isPlainObject(recipe) ? recipe['params'] : undefined;
      if (!isPlainObject(params)) {
        throw new CorruptKeyError(`${await sub.folderOf(name)}/${METADATA_FILE}`, `results entry without params (no ${RECIPE_FIELD}.params): add it with results.add(params, value), or delete it`, formatKey([...this.key, name]));
      }
      out.push(this.entry(name, params));
    }
    return out;
  }

  /** The entries whose params match `where` (the dialect of q; names are param names, dotted for nesting). */
  async get(where: Where = {}): Promise<ResultEntry[]> {
    const all = await this.entries();
    if (all.length === 0) return [];
    return matchRecords(all.map((e) => flatten(e.params)), where).map((i) => all[i]!);
  }

  /** The one entry matching `where`; throws unless exactly one does. */
  async one(where: Where): Promise<ResultEntry> {
    const found = await this.get(where);
    if (found.length !== 1) {
      const listed = found.slice(0, 5).map((e) => canonicalJson(e.params)).join(', ');
      throw new QueryError(`results '${this.name}': ${found.length} entries match, expected exactly one${found.length > 0 ? ` (${listed}${found.length > 5 ? ', ...' : ''})` : ''}`);
    }
    return found[0]!;
  }

  /** Groups of entries equal in every param but the named ones (groups in first-seen order). */
  async partitionBy(paramNames: readonly string[]): Promise<ResultEntry[][]> {
    const ignored = new Set(paramNames);
    const groups = new Map<string, ResultEntry[]>();
    for (const entry of await this.entries()) {
      const rest = Object.fromEntries(Object.entries(flatten(entry.params)).filter(([k]) => !ignored.has(k)));
      const id = canonicalJson(rest);
      const group = groups.get(id);
      if (group) group.push(entry);
      else groups.set(id, [entry]);
    }
    return [...groups.values()];
  }

  /** The (dotted) param names whose values differ between entries, or that some entries lack. */
  async varying(): Promise<string[]> {
    const flat = (await this.entries()).map((e) => flatten(e.params));
    const names = new Set(flat.flatMap((f) => Object.keys(f)));
    return [...names].filter((name) => new Set(flat.map((f) => (name in f ? canonicalJson(f[name]) : '<absent>'))).size > 1).sort();
  }

  /** The points of `grid` (name -> values; `fixed` added to each) that have no entry yet. */
  async missing(grid: Readonly<Record<string, readonly unknown[]>>, fixed: Params = {}): Promise<Params[]> {
    const present = new Set((await this.entries()).map((e) => canonicalJson(e.params)));
    return gridPoints(grid, fixed).filter((point) => !present.has(canonicalJson(point)));
  }

  private entry(name: string, params: Params): ResultEntry {
    const key = [...this.key, name];
    return { key, params, load: () => this.parent.get(key) };
  }
}

function entryName(canonical: string): string {
  return `${ENTRY_PREFIX}${createHash('sha256').update(canonical).digest('hex').slice(0, 20)}`;
}

function gridPoints(grid: Readonly<Record<string, readonly unknown[]>>, fixed: Params): Params[] {
  let points: Params[] = [{ ...fixed }];
  for (const [name, values] of Object.entries(grid)) {
    if (!Array.isArray(values)) throw InvalidInputError.value(`grid entry '${name}'`, 'must be a list of values');
    points = points.flatMap((p) => values.map((v) => ({ ...p, [name]: v })));
  }
  return points;
}

function isDataBase(value: unknown): value is DataBase {
  return typeof value === 'object' && value !== null && typeof (value as DataBase).maybeCalculate === 'function' && typeof (value as DataBase).basedir === 'string';
}

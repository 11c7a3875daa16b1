/**
 * The on-disk JSON files of a database, typed and validated with zod, spelled exactly as
 * Python ISF writes them (snake_case). Reading goes through `readJsonFile` so every bad file
 * becomes a CorruptKeyError that names it.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { z } from 'zod';
import { CorruptKeyError } from './errors.js';

type Zod = typeof z;
let zod: Zod | undefined;

/**
 * A zod schema built on first use. zod is ~95 modules and ~60 ms to import here, most of a cold
 * `import 'isf-data-base'`: it is loaded (synchronously, its CommonJS build) when the first JSON
 * file is validated, not when the library is imported.
 */
export function lazySchema<S extends object>(build: (zod: Zod) => S): S {
  let built: S | undefined;
  const real = (): S => (built ??= build(zod ??= (createRequire(import.meta.url)('zod') as { z: Zod }).z));
  return new Proxy({} as S, {
    get(_target, property) {
      const value: unknown = Reflect.get(real(), property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real()) : value;
    },
  });
}

export const dbStateSchema = lazySchema((z) => z.looseObject({
  _registeredDumpers: z.array(z.string()).optional(),
  _unique_id: z.string().min(1).nullable().optional(),
  _registered_to_path: z.string().nullable().optional(),
}));
export type DbStateJson = z.infer<typeof dbStateSchema>;

export const loaderJsonSchema = lazySchema((z) => z.looseObject({ Loader: z.string().min(1) }));
export type LoaderJsonFile = z.infer<typeof loaderJsonSchema>;

/** Our extra metadata.json field: `{ "<file>": "sha256:<hex>" }` of a data key's files. */
export const CHECKSUMS_FIELD = 'isfdb_checksums';

/** metadata.json. Only `dumper` is always present: post hoc files carry four fields. */
export const metadataSchema = lazySchema((z) => z.looseObject({
  dumper: z.string(),
  time: z.union([z.array(z.number().int()).length(9), z.string()]).optional(),
  module_list: z.unknown().optional(),
  module_versions: z.unknown().optional(),
  history: z.unknown().optional(),
  hostname: z.string().nullable().optional(),
  metadata_creation_time: z.string().optional(),
  version: z.string().nullable().optional(),
  'full-revisionid': z.string().nullable().optional(),
  dirty: z.boolean().nullable().optional(),
  error: z.string().nullable().optional(),
  [CHECKSUMS_FIELD]: z.record(z.string(), z.string()).optional(),
}));
export type MetadataJson = z.infer<typeof metadataSchema>;

export const DB_STATE_FILE = 'db_state.json';
/** The loaders whose key folders are containers: a sub-database (in `db/`) and a managed folder. */
export const SUBDB_LOADER = 'just_create_isf_db';
export const FOLDER_LOADER = 'just_create_folder';
export const SUBDB_FOLDER = 'db';
/** What ISF writes as `_registeredDumpers` in db_state.json. */
export const REGISTERED_DUMPERS = ['data_base.isf_data_base.IO.LoaderDumper.to_cloudpickle'];
export const LOADER_FILE = 'Loader.json';
export const METADATA_FILE = 'metadata.json';

/** Read and validate one JSON file; a missing, unparsable or ill-shaped file names itself. */
export async function readJsonFile<T>(file: string, schema: z.ZodType<T>, key?: string): Promise<T> {
  let text: string;
  try {
    // Small files: a synchronous read is ~20x faster than the thread pool here.
    text = fsSync.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file is missing' : `cannot be read (${code ?? String(err)})`;
    throw new CorruptKeyError(file, reason, key, { cause: err });
  }
  return parseJsonText(text, file, schema, key);
}

export function parseJsonText<T>(text: string, file: string, schema: z.ZodType<T>, key?: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CorruptKeyError(file, `is not valid JSON (${(err as Error).message})`, key, { cause: err });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at '${issue.path.join('.')}'` : '';
    throw new CorruptKeyError(file, `does not match the expected layout${where}: ${issue?.message ?? 'invalid'}`, key);
  }
  return parsed.data;
}

/** metadata.json of a value folder; without one, the dumper from Loader.json and nothing else. */
export async function readFolderMetadata(folder: string): Promise<MetadataJson> {
  const file = path.join(folder, METADATA_FILE);
  if (fsSync.existsSync(file)) return readJsonFile(file, metadataSchema);
  const loaderJson = await readJsonFile(path.join(folder, LOADER_FILE), loaderJsonSchema).catch(() => undefined);
  return { dumper: loaderJson?.Loader.split('.').pop() ?? 'unknown' };
}

/** Python's json.dump output (", " and ": " separators, ensure_ascii), so files look as ISF writes them. */
export function pythonJson(value: unknown): string {
  const compact = JSON.stringify(value);
  // One pass outside string literals; a regex with a callback is ~5x slower on the 10,000-label
  // object_meta.json of voltage traces.
  let out = '';
  let start = 0;
  let inString = false;
  for (let i = 0; i < compact.length; i++) {
    const c = compact.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      else if (c > 127) {
        // Python's ensure_ascii: every UTF-16 code unit past ASCII as \uXXXX.
        out += `${compact.slice(start, i)}\\u${c.toString(16).padStart(4, '0')}`;
        start = i + 1;
      }
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === COMMA || c === COLON) {
      out += `${compact.slice(start, i + 1)} `;
      start = i + 1;
    }
  }
  return out + compact.slice(start);
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;

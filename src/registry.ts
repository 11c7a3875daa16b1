/**
 * Unique id -> database folder. One small JSON file per id, replaced atomically
 * (temp file + rename): many processes on many machines can register at once on NFS/GPFS,
 * where a shared SQLite or LMDB file (memory-mapped locks) is not safe.
 */
import fsSync, { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CorruptKeyError, DataBaseNotFoundError, InvalidInputError } from './errors.js';
import { lazySchema, parseJsonText } from './ondisk.js';
import { replaceFileAtomically } from './store/durable.js';

const entrySchema = lazySchema((z) => z.looseObject({ path: z.string().min(1), registered_at: z.string().optional() }));
const ID_PATTERN = /^[A-Za-z0-9_.-]{1,200}$/;

export interface RegistryEntry { id: string; path: string }

export class Registry {
  constructor(readonly dir: string) {}

  /** The registry at $ISFDB_REGISTRY, else ~/.isf-data-base/registry. */
  static default(): Registry {
    const fromEnv = process.env['ISFDB_REGISTRY'];
    return new Registry(fromEnv !== undefined && fromEnv !== '' ? path.resolve(fromEnv) : path.join(os.homedir(), '.isf-data-base', 'registry'));
  }

  async register(id: string, dbPath: string): Promise<void> {
    const file = this.fileOf(id);
    await fs.mkdir(this.dir, { recursive: true });
    const entry = { path: path.resolve(dbPath), registered_at: new Date().toISOString() };
    await replaceFileAtomically(file, `${JSON.stringify(entry)}\n`);
  }

  /** The registered folder of `id`; DataBaseNotFoundError when unknown. */
  async lookup(id: string): Promise<string> {
    const file = this.fileOf(id);
    let text: string;
    try {
      // Synchronous: a small file, and lookups are hot (every mdb:// path resolves one).
      text = fsSync.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new DataBaseNotFoundError(id, `no such id in the registry ${this.dir}`);
      }
      throw err;
    }
    return parseJsonText(text, file, entrySchema).path;
  }

  async unregister(id: string): Promise<void> {
    await fs.rm(this.fileOf(id), { force: true });
  }

  /** Every registered id, sorted; unreadable entries are reported, not skipped silently. */
  async list(): Promise<{ entries: RegistryEntry[]; broken: CorruptKeyError[] }> {
    const names = await fs.readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const entries: RegistryEntry[] = [];
    const broken: CorruptKeyError[] = [];
    for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort()) {
      const id = name.slice(0, -'.json'.length);
      try {
        entries.push({ id, path: await this.lookup(id) });
      } catch (err) {
        if (err instanceof CorruptKeyError) broken.push(err);
        else if (!(err instanceof DataBaseNotFoundError)) throw err;
      }
    }
    return { entries, broken };
  }

  private fileOf(id: string): string {
    if (!ID_PATTERN.test(id)) throw InvalidInputError.value(this.dir, `'${id}' is not a valid database id`);
    return path.join(this.dir, `${id}.json`);
  }
}

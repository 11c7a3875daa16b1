/**
 * What the viewer shows about keys, through the public API only: the key tree (loader, size,
 * partitions, rows x columns, time), one key's metadata and files, and the lineage of computed
 * keys. Every key folder is checked to stay inside the database after symlinks (a key folder
 * that is a symlink to elsewhere is refused, never read).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataBase, RECIPE_FIELD, isDataBaseError, type Key, type MetadataJson } from '../index.js';
import { RefusedError, isInside } from './security.js';
import { FrameCache } from './frames.js';

export interface TreeNode {
  name: string;
  key: string[];
  loader: string;
  /** Bytes of the key's files (0 for sub-databases, whose keys are the children). */
  size: number;
  /** Write time (UTC ISO 8601) from metadata.json, or null. */
  time: string | null;
  partitions: number | null;
  rows: number | null;
  columns: number | null;
  /** Set when the key could not be described (a corrupt key is listed, not hidden). */
  error?: string;
  children?: TreeNode[];
}

export interface KeyDetails {
  key: string[];
  loader: string;
  metadata: MetadataJson;
  files: Array<{ path: string; size: number }>;
  /** rows is null while the partitions' rows are not counted yet (see /api/shape). */
  shape: { partitions: number; rows: number | null; columns: number } | null;
  code: { typescript: string; python: string };
}

export interface LineageNode {
  key: string[];
  inputs: string[][];
  recipe: unknown;
  stale: Array<{ input: string[]; kind: string; message: string }>;
}

const SUBDB = 'just_create_isf_db';

/** One database opened read-only, with its real folder (the root every path is checked against). */
export class Catalog {
  /** Open frame handles (schema, partition row counts), reused while a key is unchanged. */
  readonly frames: FrameCache;

  private constructor(readonly db: DataBase, readonly realRoot: string) {
    this.frames = new FrameCache(db, (key) => this.keyFolder(key));
  }

  static async open(dir: string): Promise<Catalog> {
    const db = await DataBase.open(dir, { readonly: true, nocreate: true });
    return new Catalog(db, await fs.realpath(db.basedir));
  }

  /** The key's real folder; refused when the key is invalid, absent, or its folder leads outside. */
  async keyFolder(key: Key): Promise<string> {
    let folder: string;
    try {
      folder = await this.db.folderOf(key);
    } catch (err) {
      if (isDataBaseError(err, 'InvalidKeyError')) throw new RefusedError(400, err.message);
      throw err;
    }
    let real: string;
    try {
      real = await fs.realpath(folder);
    } catch {
      throw new RefusedError(404, `no key ${JSON.stringify(key)}`);
    }
    if (!isInside(this.realRoot, real)) throw new RefusedError(403, 'the key folder leads outside the database');
    return real;
  }

  async tree(): Promise<TreeNode[]> {
    return this.subtree(this.db, []);
  }

  private async subtree(db: DataBase, prefix: string[]): Promise<TreeNode[]> {
    const names = await db.keys();
    // Keys are independent: describe them concurrently (the work is mostly small reads).
    return Promise.all(names.map(async (name): Promise<TreeNode> => {
      const key = [...prefix, name];
      const node: TreeNode = { name, key, loader: 'unknown', size: 0, time: null, partitions: null, rows: null, columns: null };
      try {
        await this.keyFolder(key);
        node.loader = await db.loaderOf(name);
        if (node.loader === SUBDB) {
          node.children = await this.subtree((await db.get(name)) as DataBase, key);
          return node;
        }
        const history = await db.history(name);
        const current = history[history.length - 1];
        node.size = current?.size ?? 0;
        node.time = current?.time ?? null;
        const shape = await this.frames.shape(key, node.loader);
        if (shape) Object.assign(node, { partitions: shape.partitions, rows: shape.rows, columns: shape.columns });
      } catch (err) {
        node.error = err instanceof Error ? err.message : String(err);
      }
      return node;
    }));
  }

  async details(key: string[]): Promise<KeyDetails> {
    const folder = await this.keyFolder(key);
    const loader = await this.db.loaderOf(key);
    const metadata = await this.db.metadata(key).catch((err: unknown) => ({ error: String(err) }) as unknown as MetadataJson);
    const files: Array<{ path: string; size: number }> = [];
    if (loader !== SUBDB) {
      const entries = await fs.readdir(folder, { recursive: true, withFileTypes: true });
      for (const entry of entries.slice(0, 2000)) {
        if (!entry.isFile()) continue;
        const full = path.join(entry.parentPath, entry.name);
        files.push({ path: path.relative(folder, full).split(path.sep).join('/'), size: (await fs.stat(full)).size });
      }
      files.sort((a, b) => a.path.localeCompare(b.path));
    }
    return { key, loader, metadata, files, shape: await this.frames.quickShape(key, loader), code: codeLines(this.db.basedir, key) };
  }

  /** Keys with a recipe (maybeCalculate with inputs), their inputs, and why they are stale. */
  async lineage(): Promise<LineageNode[]> {
    const stale = new Map((await this.db.stale()).map((s) => [JSON.stringify(s.key), s.reasons]));
    const nodes: LineageNode[] = [];
    for (const key of await this.db.keys({ recurse: true })) {
      const meta = await this.db.metadata(key).catch(() => undefined);
      const recipe = meta ? (meta as Record<string, unknown>)[RECIPE_FIELD] as { inputs?: Array<{ key: string[] }> } | undefined : undefined;
      if (recipe === undefined) continue;
      nodes.push({
        key,
        inputs: (recipe.inputs ?? []).map((input) => input.key),
        recipe,
        stale: (stale.get(JSON.stringify(key)) ?? []).map((r) => ({ input: r.input, kind: r.kind, message: r.message })),
      });
    }
    return nodes;
  }
}

/** The "use it in code" lines: this library and Python ISF. */
export function codeLines(basedir: string, key: string[]): { typescript: string; python: string } {
  const tsKey = key.length === 1 ? JSON.stringify(key[0]) : JSON.stringify(key);
  const pyKey = key.length === 1 ? pyString(key[0]!) : `(${key.map(pyString).join(', ')})`;
  return {
    typescript: `const value = await (await DataBase.open(${JSON.stringify(basedir)}, { readonly: true })).get(${tsKey});`,
    python: `from data_base import DataBase; value = DataBase(${pyString(basedir)}, readonly=True)[${pyKey}]`,
  };
}

function pyString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

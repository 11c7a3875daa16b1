/**
 * The import directions of docs/architecture.md: no import cycles; cli/ and initializers/ use the
 * public API only; loaders/ never reach into the database or the CLI; store/ knows nothing of
 * loaders; history, lineage, verify and fsck take narrow functions, not the DataBase; the core
 * never imports the heavy parts (Parquet codec, initializers) nor the clients (query, analyses,
 * runs, server) statically: it reaches clients only through dynamic `import()`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  if (!existsSync(path.join(root, dir))) return [];
  return readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

interface Edge {
  target: string;
  /** `import type` / `export type`, or only `type` specifiers: erased by the compiler, never loaded. */
  typeOnly: boolean;
  /** `import('...')`: loaded when the code runs, not with the importing module. */
  dynamic: boolean;
}

function resolveTarget(file: string, specifier: string): string {
  return path.relative(root, path.resolve(path.dirname(path.join(root, file)), specifier)).replace(/\.js$/, '.ts');
}

/** Project-relative targets of every relative import and re-export in a file. */
function edgesOf(file: string): Edge[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const edges: Edge[] = [];
  for (const match of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*'(\.{1,2}\/[^']+)'/gms)) {
    const clause = match[3] ?? '';
    const specifiers = /\{([^}]*)\}/.exec(clause)?.[1]?.split(',').map((s) => s.trim()).filter((s) => s !== '') ?? [];
    const onlyTypeSpecifiers = specifiers.length > 0 && specifiers.every((s) => s.startsWith('type '));
    const defaultOrNamespace = clause.replace(/\{[^}]*\}/, '').replace(/,/g, '').trim() !== '';
    edges.push({ target: resolveTarget(file, match[4]!), typeOnly: match[2] !== undefined || (onlyTypeSpecifiers && !defaultOrNamespace), dynamic: false });
  }
  for (const match of text.matchAll(/^\s*import\s+'(\.{1,2}\/[^']+)'/gm)) edges.push({ target: resolveTarget(file, match[1]!), typeOnly: false, dynamic: false });
  for (const match of text.matchAll(/(?<![\w.])import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g)) {
    // `typeof import('...')` in a type position is erased like an import type.
    const before = text.slice(Math.max(0, match.index - 7), match.index);
    edges.push({ target: resolveTarget(file, match[1]!), typeOnly: before.endsWith('typeof '), dynamic: true });
  }
  return edges;
}

const ALL = [...sourceFiles('src'), ...sourceFiles('loaders'), ...sourceFiles('initializers')];

/** Every static runtime import `file -> target` breaking `allowed`. */
function violations(files: string[], allowed: (target: string, file: string) => boolean): string[] {
  return files.flatMap((file) => edgesOf(file).filter((e) => !e.typeOnly && !e.dynamic && !allowed(e.target, file)).map((e) => `${file} -> ${e.target}`));
}

const inside = (folder: string) => (target: string) => target.startsWith(`${folder}/`);
const under = (folder: string) => sourceFiles(folder);

/** The public API modules: the root and its subpaths (package.json "exports"). */
const PUBLIC_API = ['src/index.ts', 'src/frames.ts', 'src/simrun.ts', 'src/runs/index.ts', 'src/query/index.ts', 'src/analyses/index.ts', 'src/server/index.ts'];
/** Clients of the public API that live under src/ (query, analyses, runs, the viewer's server). */
const CLIENT_FOLDERS = ['src/query', 'src/analyses', 'src/runs', 'src/server', 'src/viewer'];
/** The core: src/ without the CLI, the clients and the public entry modules that reach the heavy parts. */
const CORE = under('src').filter((f) => !inside('src/cli')(f) && !CLIENT_FOLDERS.some((c) => inside(c)(f)) && !['src/frames.ts', 'src/simrun.ts', 'src/lazy.ts'].includes(f));

/** Import cycles among runtime, static imports (type-only and dynamic imports load nothing with the module). */
function cycles(): string[] {
  return findCycles(new Map(ALL.map((file) => [file, edgesOf(file).filter((e) => !e.typeOnly && !e.dynamic).map((e) => e.target)])));
}

function findCycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const found: string[] = [];
  const visit = (node: string, stack: string[]): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (state.get(next) === undefined) visit(next, stack);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file, []);
  return found;
}

describe('architecture: who may import what', () => {
  it('has no import cycles', () => {
    expect(cycles()).toEqual([]);
  });

  it('the checks see what they look for (self-tests)', () => {
    expect(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual(['a -> b -> c -> a']);
    expect(edgesOf('src/database.ts').some((e) => e.target === 'src/keys.ts' && !e.typeOnly && !e.dynamic)).toBe(true);
    // lazy.ts: `typeof import(...)` is a type, `await import(...)` a dynamic edge; neither loads with the module.
    expect(edgesOf('src/lazy.ts').map((e) => [e.target, e.typeOnly, e.dynamic])).toContainEqual(['src/simrun.ts', false, true]);
    expect(edgesOf('src/lazy.ts').map((e) => [e.target, e.typeOnly, e.dynamic])).toContainEqual(['src/simrun.ts', true, true]);
    expect(edgesOf('src/index.ts').filter((e) => e.target === 'src/frames.ts').every((e) => e.typeOnly)).toBe(true);
  });

  it('src/cli imports only the public API (root and subpaths) and its own files', () => {
    expect(violations(under('src/cli'), (t) => PUBLIC_API.includes(t) || inside('src/cli')(t))).toEqual([]);
  });

  it('src/runs is a client of the public API (and of lineage.ts for recipes)', () => {
    expect(violations(under('src/runs'), (t) => PUBLIC_API.includes(t) || t === 'src/lineage.ts' || inside('src/runs')(t))).toEqual([]);
  });

  it('src/server imports only the public API (with its subpath exports) and its own files', () => {
    expect(violations(under('src/server'), (t) => (PUBLIC_API.includes(t) && t !== 'src/server/index.ts') || inside('src/server')(t))).toEqual([]);
  });

  it('initializers import only the public API and their own files', () => {
    // (merged from s10) the modules src/index.ts re-exports from are the public API, module by module
    const publicModules = new Set(edgesOf('src/index.ts').map((e) => e.target).filter((t) => !inside('initializers')(t) && t !== 'src/simrun.ts' && t !== 'src/lazy.ts'));
    expect(violations(under('initializers'), (t) => t === 'src/index.ts' || t === 'src/errors.ts' || publicModules.has(t) || inside('initializers')(t))).toEqual([]);
  });

  it('loaders never import the database, the CLI or the initializers', () => {
    const forbidden = (t: string) => t === 'src/database.ts' || PUBLIC_API.includes(t) || inside('src/cli')(t) || inside('initializers')(t);
    expect(violations(under('loaders'), (t) => !forbidden(t))).toEqual([]);
  });

  it('src/store knows nothing of loaders or the database', () => {
    expect(violations(under('src/store'), (t) => inside('src/store')(t) || t === 'src/errors.ts' || t === 'src/keys.ts')).toEqual([]);
  });

  it('history, lineage, verify, fsck and registration take narrow functions, never the DataBase (not even its type)', () => {
    const narrow = ['src/history.ts', 'src/lineage.ts', 'src/verify.ts', 'src/fsck.ts', 'src/registration.ts', 'src/walk.ts', 'src/key-io.ts', 'src/key-ops.ts', 'src/db-folder.ts', 'src/set-many.ts', 'src/calculation-port.ts'];
    const offending = narrow.flatMap((file) => edgesOf(file).filter((e) => e.target === 'src/database.ts' || e.target === 'src/index.ts').map((e) => `${file} -> ${e.target}`));
    expect(offending).toEqual([]);
  });

  it('the core never imports the Parquet codec, the initializers, the CLI or the clients statically', () => {
    const heavy = (t: string) => inside('loaders/parquet')(t) || inside('initializers')(t) || inside('src/cli')(t)
      || CLIENT_FOLDERS.some((c) => inside(c)(t)) || t === 'src/frames.ts' || t === 'src/simrun.ts'
      || ['loaders/pandas_to_parquet.ts', 'loaders/dask_to_parquet.ts'].includes(t);
    expect(violations(CORE, (t) => !heavy(t))).toEqual([]);
  });

  it('the core reaches clients (src/query, src/analyses, src/runs, src/server) only through dynamic import()', () => {
    const staticToClients = CORE.flatMap((file) => edgesOf(file)
      .filter((e) => !e.dynamic && CLIENT_FOLDERS.some((c) => inside(c)(e.target)))
      .map((e) => `${file} -> ${e.target}`));
    expect(staticToClients).toEqual([]);
  });
});

/**
 * The import directions of docs/README.md and the architecture note: cli/ and initializers/
 * use the public API only, loaders/ never reach into the database or the CLI, store/ knows
 * nothing of loaders.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

/** Project-relative targets of every relative import in a file. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => match[1]!);
  return targets.map((target) => path.relative(root, path.resolve(path.dirname(path.join(root, file)), target)).replace(/\.js$/, '.ts'));
}

function violations(dir: string, allowed: (target: string, file: string) => boolean): string[] {
  return sourceFiles(dir).flatMap((file) => importsOf(file).filter((target) => !allowed(target, file)).map((target) => `${file} -> ${target}`));
}

const inside = (folder: string) => (target: string) => target.startsWith(`${folder}/`);

describe('architecture: who may import what', () => {
  it('src/cli imports only the public API (with its subpath exports) and its own files', () => {
    const publicApi = new Set(['src/index.ts', 'src/query/index.ts', 'src/analyses/index.ts', 'src/server/index.ts']);
    expect(violations('src/cli', (t) => publicApi.has(t) || inside('src/cli')(t))).toEqual([]);
  });

  it('src/server imports only the public API (with its subpath exports) and its own files', () => {
    const publicApi = new Set(['src/index.ts', 'src/query/index.ts', 'src/analyses/index.ts']);
    expect(violations('src/server', (t) => publicApi.has(t) || inside('src/server')(t))).toEqual([]);
  });

  it('initializers import only the public API and their own files', () => {
    expect(violations('initializers', (t) => t === 'src/index.ts' || t === 'src/errors.ts' || inside('initializers')(t))).toEqual([]);
  });

  it('loaders never import the database, the CLI or the initializers', () => {
    const forbidden = (t: string) => t === 'src/database.ts' || t === 'src/index.ts' || inside('src/cli')(t) || inside('initializers')(t);
    expect(violations('loaders', (t) => !forbidden(t))).toEqual([]);
  });

  it('the core reaches src/query and src/analyses only through type imports and lazy import()', () => {
    const clients = ['src/query/', 'src/analyses/', 'src/cli/', 'src/server/', 'src/viewer/'];
    const core = sourceFiles('src').filter((f) => !clients.some((folder) => f.startsWith(folder)));
    const eager = core.flatMap((file) => {
      const text = readFileSync(path.join(root, file), 'utf8');
      return [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.{1,2}\/[^']+)'/gm)]
        .map((m) => path.relative(root, path.resolve(path.dirname(path.join(root, file)), m[1]!)))
        .filter((t) => t.startsWith('src/query/') || t.startsWith('src/analyses/'))
        .map((t) => `${file} -> ${t}`);
    });
    expect(eager).toEqual([]);
  });

  it('src/store knows nothing of loaders or the database', () => {
    expect(violations('src/store', (t) => inside('src/store')(t) || t === 'src/errors.ts' || t === 'src/keys.ts')).toEqual([]);
  });
});

/**
 * Heavy parts load only when used: importing the core (and opening and listing a database) loads
 * no Parquet code, no apache-arrow and no simrun module; `isfdb --help` loads not even the core.
 * Measured on the compiled package in a child process whose module loads are traced by a hook.
 */
import { spawnSync } from 'node:child_process';
import fsSync from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupTemp, makeTemp, repoRoot } from './helpers.js';

afterEach(cleanupTemp);

/** The file URLs a child loads while running `script` (an ES module body). */
async function modulesLoadedBy(script: string, args: string[] = []): Promise<string[]> {
  const dir = await makeTemp('isfdb-trace-');
  const trace = path.join(dir, 'trace.txt');
  fsSync.writeFileSync(path.join(dir, 'hooks.mjs'), `import fs from 'node:fs';
export async function load(url, context, next) { fs.appendFileSync(${JSON.stringify(trace)}, url + '\\n'); return next(url, context); }\n`);
  fsSync.writeFileSync(path.join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
  fsSync.writeFileSync(path.join(dir, 'main.mjs'), script);
  const run = spawnSync(process.execPath, ['--import', path.join(dir, 'register.mjs'), path.join(dir, 'main.mjs'), ...args], {
    encoding: 'utf8', env: { ...process.env, ISFDB_REGISTRY: path.join(dir, 'registry') },
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return fsSync.readFileSync(trace, 'utf8').split('\n').filter((line) => line.startsWith('file:'));
}

const dist = (file: string) => JSON.stringify(path.join(repoRoot, 'dist', file));
const heavy = (urls: string[]) => urls.filter((url) => /\/loaders\/parquet\/|\/node_modules\/apache-arrow\/|\/node_modules\/parquet-wasm\/|\/initializers\/|\/src\/simrun\.js|\/src\/frames\.js|\/node_modules\/simple-git\//.test(url));

describe('lazy loading of heavy modules', () => {
  it('importing the core, opening a database and listing it load no Parquet, Arrow or simrun module', async () => {
    const loaded = await modulesLoadedBy(`
      import { DataBase } from ${dist('src/index.js')};
      const db = await DataBase.open(process.argv[2], { readonly: false });
      await db.keys({ recurse: true });
    `, [path.join(await makeTemp('isfdb-lazy-'), 'db')]);
    expect(loaded.some((url) => url.endsWith('/dist/src/database.js'))).toBe(true);
    expect(heavy(loaded)).toEqual([]);
  });

  it('the simrun modules load when a lazy entry point is first called, the frame helpers with their subpath', async () => {
    const loaded = await modulesLoadedBy(`
      import { generateCampaign } from ${dist('src/index.js')};
      await generateCampaign(process.argv[2], { trials: 1, timePoints: 10 });
      await import(${dist('src/frames.js')});
    `, [path.join(await makeTemp('isfdb-lazy-'), 'raw')]);
    expect(loaded.some((url) => url.endsWith('/initializers/simrun/generate.js'))).toBe(true);
    expect(loaded.some((url) => url.endsWith('/loaders/parquet/frame.js'))).toBe(true);
  });

  it('isfdb --help loads neither the core nor any command', async () => {
    const loaded = await modulesLoadedBy(`process.argv.splice(2, 0, '--help'); await import(${dist('src/cli/main.js')});`);
    const ours = loaded.filter((url) => url.includes('/dist/')).map((url) => url.slice(url.indexOf('/dist/'))).sort();
    expect(ours).toEqual(['/dist/src/cli/commands/index.js', '/dist/src/cli/failure.js', '/dist/src/cli/main.js', '/dist/src/cli/process-io.js']);
  });
});

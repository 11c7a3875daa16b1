/**
 * `npm ci` with npm 11 blocks dependency install scripts not covered by package.json's
 * allowScripts and warns about each: every package of the lock file that has one is decided.
 * lmdb and msgpackr-extract are approved (their script only picks the prebuilt binary for the
 * platform); zstd-napi is approved (its script fetches a prebuilt binary or, offline, compiles one
 * with node-gyp in about 40 s; it is an optional dependency, so where neither works the WebAssembly
 * zstd is used); esbuild is denied (its script only checks the platform package, which npm
 * installs anyway).
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../core/helpers.js';

describe('install scripts', () => {
  it('every locked package with an install script is approved or denied in allowScripts', () => {
    const lock = JSON.parse(fsSync.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript === true).map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length)).sort();
    const pkg = JSON.parse(fsSync.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean')).toEqual([]);
    expect(pkg.allowScripts?.['lmdb']).toBe(true);
    expect(pkg.allowScripts?.['msgpackr-extract']).toBe(true);
  });
});

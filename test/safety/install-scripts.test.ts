/**
 * `npm ci` with npm 11 blocks dependency install scripts not approved in package.json's
 * allowScripts and warns about each: every package of the lock file that has one is approved
 * (lmdb and msgpackr-extract: their script only picks the prebuilt binary for the platform).
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../core/helpers.js';

describe('install scripts', () => {
  it('every locked package with an install script is in allowScripts', () => {
    const lock = JSON.parse(fsSync.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript === true).map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length)).sort();
    const pkg = JSON.parse(fsSync.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => pkg.allowScripts?.[name] !== true)).toEqual([]);
  });
});

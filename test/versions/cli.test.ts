/** isfdb history, diff and stale: --help, text and --json output. */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { cleanupTemp, sandbox, type Sandbox } from '../core/helpers.js';
import { runCli } from './procs.js';

let sb: Sandbox;
let db: DataBase;
beforeEach(async () => {
  sb = await sandbox();
  db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry, keepVersions: 3 });
  await db.set('raw', { x: 1 });
  await db.maybeCalculate('rate', () => ({ r: 1 }), { params: { bin: 10 }, inputs: ['raw'] });
  await db.maybeCalculate('rate', () => ({ r: 2 }), { params: { bin: 20 }, inputs: ['raw'] });
  await settleBackgroundRemovals();
});
afterEach(async () => {
  await settleBackgroundRemovals();
  await cleanupTemp();
});

describe('isfdb history / diff / stale', { timeout: 30_000 }, () => {
  it('every command has --help', () => {
    for (const name of ['history', 'diff', 'stale']) {
      const r = runCli([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^isfdb ${name} <db>`));
      expect(r.stdout).toContain('--json');
    }
  });

  it('history lists versions as a table and as JSON', () => {
    const text = runCli(['history', db.basedir, 'rate']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^version\s+time \(UTC\)\s+commit\s+tree\s+loader\s+bytes\s+checksum$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['1', 'current']);
    const json = JSON.parse(runCli(['history', db.basedir, 'rate', '--json']).stdout) as Array<{ version: unknown; loader: string; checksum: string }>;
    expect(json.map((v) => v.version)).toEqual([1, 'current']);
    expect(json[0]!.loader).toBe('to_msgpack');
    expect(json[0]!.checksum).toMatch(/^sha256:/);
  });

  it('diff shows the provenance fields that differ and whether the content changed', () => {
    const json = JSON.parse(runCli(['diff', db.basedir, 'rate', '1', 'current', '--json']).stdout) as {
      fields: Array<{ field: string; a: unknown; b: unknown }>; contentChanged: boolean;
    };
    expect(json.contentChanged).toBe(true);
    expect(json.fields).toContainEqual({ field: 'isfdb_recipe.params.bin', a: 10, b: 20 });
    expect(json.fields.map((f) => f.field)).not.toContain('isfdb_recipe.inputs[raw]');
    const same = JSON.parse(runCli(['diff', db.basedir, 'rate', '1', '1', '--json']).stdout) as { fields: unknown[]; contentChanged: boolean };
    expect(same).toMatchObject({ fields: [], contentChanged: false });
    const text = runCli(['diff', db.basedir, 'rate', '1', 'current']);
    expect(text.stdout).toContain('content: changed');
    expect(text.stdout).toContain('  isfdb_recipe.params.bin:\n    - 10\n    + 20');
    const missing = runCli(['diff', db.basedir, 'rate', '7', 'current']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no version 7');
    expect(runCli(['diff', db.basedir, 'rate', 'x', 'current']).code).toBe(2);
  });

  it('stale lists changed inputs, with --json and --exit-code', async () => {
    expect(runCli(['stale', db.basedir]).stdout).toBe('no stale keys\n');
    expect(runCli(['stale', db.basedir, '--exit-code']).code).toBe(0);
    await db.set('raw', { x: 2 });
    const text = runCli(['stale', db.basedir]);
    expect(text.stdout).toMatch(/^rate\n {2}changed: input 'raw' changed since 'rate' was computed/);
    const json = JSON.parse(runCli(['stale', db.basedir, '--json']).stdout) as Array<{ key: string[]; reasons: Array<{ kind: string }> }>;
    expect(json).toMatchObject([{ key: ['rate'], reasons: [{ kind: 'changed', input: ['raw'] }] }]);
    expect(runCli(['stale', db.basedir, '--exit-code']).code).toBe(1);
  });
});

/**
 * The short version of `npm run stress` (crash, concurrency, fuzz, locks), plus unit checks of
 * verify and fsck. Needs the compiled child scripts (npm test builds first).
 */
import { spawnSync } from 'node:child_process';
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase, Registry } from '../../src/index.js';
import { runCrash } from '../stress/crash.js';
import { runConcurrency } from '../stress/concurrency.js';
import { runFuzz } from '../stress/fuzz.js';
import { runLocks } from '../stress/locks.js';
import { REPO_ROOT } from '../stress/proc.js';
import { listDbFolder } from '../../src/walk.js';

const root = fsSync.mkdtempSync(path.join(os.tmpdir(), 'isfdb-rel-'));
const registryDir = path.join(root, 'registry');
fsSync.mkdirSync(registryDir);
process.env['ISFDB_REGISTRY'] = registryDir;
const registry = new Registry(registryDir);
afterAll(() => { fsSync.rmSync(root, { recursive: true, force: true }); });
let n = 0;
const fresh = (): string => path.join(root, `db${n++}`);

describe('verify', () => {
  it('reports a changed file, a missing file, an unexpected file and an unreadable Loader.json', async () => {
    const db = await DataBase.open(fresh(), { registry });
    await db.set('a', new Float64Array([1, 2]));
    await db.set('b', { x: 1 });
    await db.set(['s', 'c'], new Uint8Array([3]));
    await db.createManagedFolder('f');
    expect((await db.verify()).ok).toBe(true);
    fsSync.appendFileSync(path.join(db.basedir, 'a', 'np.npy'), 'x');
    fsSync.rmSync(path.join(db.basedir, 'b', 'to_pickle_dump'));
    fsSync.writeFileSync(path.join(db.basedir, 's', 'db', 'c', 'extra.bin'), 'x');
    fsSync.writeFileSync(path.join(db.basedir, 'f', 'user.txt'), 'mine'); // managed folders are the user's
    const report = await db.verify();
    expect(report.ok).toBe(false);
    expect(report.findings.map((f) => `${f.kind} ${f.key.join('/')}`).sort()).toEqual(['checksum-mismatch a', 'missing-file b', 'unexpected-file s/c', 'unverified f']);
    expect((await db.verify('a')).findings.map((f) => f.kind)).toEqual(['checksum-mismatch']);
    fsSync.writeFileSync(path.join(db.basedir, 'a', 'Loader.json'), '{"Loader": ');
    expect((await db.verify('a')).findings.map((f) => f.kind)).toEqual(['unreadable-json']);
  });

  it('reports keys written without checksums (Python ISF) as unverified, not as errors; never follows a symlinked key', async () => {
    const db = await DataBase.open(fresh(), { registry });
    await db.set('a', new Float64Array([1, 2]));
    const meta = JSON.parse(fsSync.readFileSync(path.join(db.basedir, 'a', 'metadata.json'), 'utf8')) as Record<string, unknown>;
    delete meta['isfdb_checksums'];
    fsSync.writeFileSync(path.join(db.basedir, 'a', 'metadata.json'), JSON.stringify(meta));
    const report = await db.verify();
    expect(report.ok).toBe(true);
    expect(report.findings).toEqual([{ kind: 'unverified', key: ['a'], reason: expect.any(String) }]);
    fsSync.symlinkSync(path.join(db.basedir, 'a'), path.join(db.basedir, 'link'));
    const linked = await db.verify();
    expect(linked.findings.find((f) => f.kind === 'symlink')?.key).toEqual(['link']);
    const fsck = await db.fsck({ repair: true });
    expect(fsck.findings.find((f) => f.kind === 'symlink')?.key).toEqual(['link']);
    expect(fsSync.lstatSync(path.join(db.basedir, 'link')).isSymbolicLink()).toBe(true);
    expect(fsSync.existsSync(path.join(db.basedir, 'a', 'np.npy'))).toBe(true);
  });
});

describe('fsck', () => {
  it('finds and repairs debris without touching complete keys, and rolls forward a write killed between its renames', async () => {
    const db = await DataBase.open(fresh(), { registry, lockStaleMs: 2000 });
    await db.set('keep', new Uint8Array([1, 2, 3]));
    await db.set('k', new Uint8Array([1]));
    await db.set('donor', new Uint8Array([2, 2]));
    const sub = await db.createSubDb('s');
    const staging = path.join(db.basedir, '.isfdb.deleting.staging');
    fsSync.mkdirSync(staging, { recursive: true });
    // A write of k killed between "retire the old value" and "rename the new one into place".
    fsSync.cpSync(path.join(db.basedir, 'donor'), path.join(staging, 'k#tmp#999999#AAAAAA'), { recursive: true });
    fsSync.renameSync(path.join(db.basedir, 'k'), path.join(db.basedir, 'k.deleting.QWERT'));
    fsSync.mkdirSync(path.join(staging, 'keep#tmp#999999#BBBBBB')); // an incomplete write of keep
    fsSync.mkdirSync(path.join(db.basedir, 'half')); // a key folder without Loader.json
    fsSync.mkdirSync(path.join(db.basedir, 'gone.lock')); // a lock of a dead process
    fsSync.rmSync(path.join(sub.basedir, 'db_state.json'));
    const dry = await db.fsck({ offline: true });
    expect(dry.clean).toBe(false);
    expect(dry.findings.map((f) => f.kind).sort()).toEqual(['dangling-registration', 'incomplete-key', 'retired-value', 'staged-write', 'staged-write', 'stale-lock', 'subdb-missing-state']);
    const fixed = await db.fsck({ repair: true, offline: true });
    expect(fixed.clean).toBe(true);
    expect(fixed.findings.find((f) => f.kind === 'staged-write' && f.key[0] === 'k')).toMatchObject({ repair: { action: 'rolled-forward' } });
    expect(Array.from(((await db.get('k')) as { data: Uint8Array }).data)).toEqual([2, 2]);
    expect(Array.from(((await db.get('keep')) as { data: Uint8Array }).data)).toEqual([1, 2, 3]);
    expect(await db.keys()).toEqual(['donor', 'k', 'keep', 's']);
    const reopened = (await db.get('s')) as DataBase;
    expect(await registry.lookup(reopened.id)).toBe(reopened.basedir);
    expect((await db.fsck({ offline: true })).findings).toEqual([]);
    expect((await db.verify()).ok).toBe(true);
  });

  it('the walker lists a level\'s keys and its debris in one reading; fsck finds old temporary files through it', async () => {
    const db = await DataBase.open(fresh(), { registry });
    await db.set('a', 1);
    await db.set('b', 2);
    const staging = path.join(db.basedir, '.isfdb.deleting.staging');
    fsSync.mkdirSync(path.join(staging, 'b#tmp#999999#AAAAAA'), { recursive: true });
    fsSync.mkdirSync(path.join(db.basedir, 'a.deleting.QWERT'));
    fsSync.mkdirSync(path.join(db.basedir, 'c.lock'));
    fsSync.writeFileSync(path.join(db.basedir, '.metadata.json.123.abcdef01.tmp'), 'x');
    fsSync.writeFileSync(path.join(db.basedir, '.db_state.json.77.ABC123'), 'x');
    fsSync.mkdirSync(path.join(db.basedir, '.isfdb.deleting.history', 'a'), { recursive: true });
    const { keys, debris } = listDbFolder(db.basedir);
    expect(keys.map((e) => e.name)).toEqual(['a', 'b']);
    expect(debris).toEqual({
      stagedKeys: ['b'],
      retired: ['a.deleting.QWERT'],
      locks: ['c.lock'],
      tempFiles: ['.db_state.json.77.ABC123', '.metadata.json.123.abcdef01.tmp'],
      scratch: [],
    });
    const report = await db.fsck({ repair: true, offline: true });
    expect(report.findings.map((f) => f.kind).sort()).toEqual(['retired-value', 'staged-write', 'stale-lock', 'temp-file', 'temp-file']);
    expect(report.clean).toBe(true);
    expect(listDbFolder(db.basedir).debris).toEqual({ stagedKeys: [], retired: [], locks: [], tempFiles: [], scratch: [] });
    expect(fsSync.existsSync(path.join(db.basedir, '.isfdb.deleting.history', 'a'))).toBe(true);
  });

  it("a process's scratch folder: never a key; once its process has died, removed by the next one made on this host and by fsck", async () => {
    const db = await DataBase.open(fresh(), { registry });
    await db.set('a', 1);
    const host = os.hostname().replace(/[^A-Za-z0-9_.]/g, '_');
    // a pid that has ended: a child process, waited for
    const ended = spawnSync(process.execPath, ['-e', '']).pid!;
    const dead = path.join(db.basedir, `.isfdb.deleting.simrun-${host}-${ended}-dead01`);
    const live = path.join(db.basedir, `.isfdb.deleting.simrun-${host}-${process.ppid}-live01`);
    const elsewhere = path.join(db.basedir, `.isfdb.deleting.simrun-otherhost-${ended}-away01`);
    for (const dir of [dead, live, elsewhere]) fsSync.mkdirSync(path.join(dir, '0'), { recursive: true });
    expect(listDbFolder(db.basedir).debris.scratch).toEqual([dead, elsewhere, live].map((d) => path.basename(d)).sort());
    expect(await db.keys()).toEqual(['a']);

    const seen = await db.fsck();
    expect(seen.findings).toEqual([{ kind: 'abandoned-scratch', path: dead, key: [], purpose: 'simrun', pid: ended }]);
    expect(seen.clean).toBe(false);
    expect(fsSync.existsSync(dead)).toBe(true);
    const repaired = await db.fsck({ repair: true });
    expect(repaired.findings).toMatchObject([{ kind: 'abandoned-scratch', path: dead, repair: { action: 'removed' } }]);
    expect(repaired.clean).toBe(true);
    expect([fsSync.existsSync(dead), fsSync.existsSync(live), fsSync.existsSync(elsewhere)]).toEqual([false, true, true]);

    // a new scratch folder of this process removes this host's dead ones, and is itself no key
    fsSync.mkdirSync(dead);
    const mine = await db.scratchFolder('simrun');
    expect(path.dirname(mine)).toBe(db.basedir);
    expect(path.basename(mine)).toMatch(new RegExp(`^\\.isfdb\\.deleting\\.simrun-${host.replace(/\./g, '\\.')}-${process.pid}-`));
    expect([fsSync.existsSync(dead), fsSync.existsSync(live), fsSync.existsSync(elsewhere)]).toEqual([false, true, true]);
    expect(await db.keys()).toEqual(['a']);
    expect((await db.fsck()).findings).toEqual([]);
    await expect(db.scratchFolder('Sim run')).rejects.toMatchObject({ _tag: 'InvalidInputError' });
    const reader = await DataBase.open(db.basedir, { registry, readonly: true });
    await expect(reader.scratchFolder('simrun')).rejects.toMatchObject({ _tag: 'ReadonlyError' });

    // offline (no process uses the database, by the caller's word): every scratch folder goes
    const offline = await db.fsck({ repair: true, offline: true });
    expect(offline.findings.map((f) => f.path).sort()).toEqual([elsewhere, live, mine].sort());
    expect(listDbFolder(db.basedir).debris.scratch).toEqual([]);
    expect(await db.get('a')).toBe(1);
  });

  it('re-registers an unregistered database and leaves history/staging folders alone', async () => {
    const db = await DataBase.open(fresh(), { registry });
    await db.set('a', new Uint8Array([1]));
    fsSync.mkdirSync(path.join(db.basedir, '.isfdb.deleting.history', 'a', '1'), { recursive: true });
    await registry.unregister(db.id);
    const report = await db.fsck({ repair: true });
    expect(report.findings.map((f) => f.kind)).toEqual(['unregistered']);
    expect(await registry.lookup(db.id)).toBe(db.basedir);
    expect(fsSync.existsSync(path.join(db.basedir, '.isfdb.deleting.history', 'a', '1'))).toBe(true);
  });

  it('removes registry entries that point inside the database at nothing', async () => {
    const db = await DataBase.open(fresh(), { registry });
    await registry.register('2026-01-01_1_gone000', path.join(db.basedir, 'old', 'db'));
    const report = await db.fsck({ repair: true });
    expect(report.findings).toMatchObject([{ kind: 'dangling-registration', key: ['old'], repair: { action: 'removed' } }]);
    await expect(registry.lookup('2026-01-01_1_gone000')).rejects.toMatchObject({ _tag: 'DataBaseNotFoundError' });
  });
});

describe('isfdb verify / fsck', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8', env: { ...process.env, ISFDB_REGISTRY: registryDir } });

  it('exit 0 on a sound database, 1 with --json findings when something is wrong; fsck --repair cleans', async () => {
    const db = await DataBase.open(fresh(), { registry });
    await db.set(['s', 'a'], new Float64Array([1, 2, 3]));
    expect(cli('verify', db.basedir).status).toBe(0);
    fsSync.writeFileSync(path.join(db.basedir, 's', 'db', 'a', 'np.npy'), 'torn');
    const bad = cli('verify', db.basedir, '--json');
    expect(bad.status).toBe(1);
    expect((JSON.parse(bad.stdout) as { findings: Array<{ kind: string; key: string[] }> }).findings).toMatchObject([{ kind: 'checksum-mismatch', key: ['s', 'a'] }]);
    expect(cli('verify', db.basedir, 's/a').status).toBe(1);
    fsSync.mkdirSync(path.join(db.basedir, 'junk'));
    expect(cli('fsck', db.basedir).status).toBe(1);
    expect(cli('fsck', db.basedir, '--repair').status).toBe(0);
    expect(cli('fsck', db.basedir).status).toBe(0);
    expect(fsSync.existsSync(path.join(db.basedir, 'junk'))).toBe(false);
    expect(cli('fsck', db.basedir, '--stale-ms', 'x').status).toBe(2);
  }, 30_000); // seven CLI processes: like the other multi-process tests, not bound by the 5 s default on a busy machine
});

describe('fixes found by the harness', () => {
  it('a write into a sub-database deleted meanwhile fails with a typed error and leaves no orphan folder', async () => {
    const db = await DataBase.open(fresh(), { registry });
    const sub = await db.createSubDb('s');
    await sub.set('x', new Uint8Array([1]));
    await db.delete('s');
    // Before the fix: an untyped ENOENT from the lock, or (staging mkdir -p) an orphan 's' folder without Loader.json.
    await expect(sub.set('y', new Uint8Array([2]))).rejects.toMatchObject({ _tag: 'NotADataBaseError' });
    expect(fsSync.existsSync(path.join(db.basedir, 's'))).toBe(false);
    expect((await db.fsck({ offline: true })).findings).toEqual([]);
  });

  it('deleting a sub-database unregisters every database inside it', async () => {
    const db = await DataBase.open(fresh(), { registry });
    const inner = await db.createSubDb(['s', 't']);
    const outer = (await db.get('s')) as DataBase;
    await db.delete('s');
    await expect(registry.lookup(inner.id)).rejects.toMatchObject({ _tag: 'DataBaseNotFoundError' });
    await expect(registry.lookup(outer.id)).rejects.toMatchObject({ _tag: 'DataBaseNotFoundError' });
  });
});

describe('harness (short version of npm run stress)', () => {
  it('crash: SIGKILLed writers never leave a torn or lost key', async () => {
    const f = await runCrash({ root: path.join(root, 'crash'), registryDir, iterations: 10, maxBytes: 4 << 20, maxDelayMs: 700, seed: 5 });
    expect(f.failures).toEqual([]);
    expect(f.kills).toBe(10);
  }, 120_000);

  it('concurrency: 3 writers x 30 conflicting operations (sub-databases created and deleted while written into), readers see only complete values', async () => {
    fsSync.mkdirSync(path.join(root, 'conc'), { recursive: true });
    const f = await runConcurrency({ root: path.join(root, 'conc'), registryDir, writers: 3, opsPerWriter: 30, readers: 1, deleteSubDbs: true, seed: 11 });
    expect(f.failures).toEqual([]);
    expect(f.tornReads).toBe(0);
    expect(f.registryProblems).toBe(0);
  }, 120_000);

  it('fuzz: 200 malformed inputs give typed errors or verify findings, nothing outside the database changes', async () => {
    const f = await runFuzz({ root: path.join(root, 'fuzz'), registryDir, inputs: 200, seed: 17 });
    expect(f.failures).toEqual([]);
    expect(f.outsideChanges).toBe(0);
    expect(f.silentCorruptions).toBe(0);
  }, 120_000);

  it('locks: stale takeover, LockTimeoutError naming the key, readonly opens take no lock', async () => {
    const f = await runLocks({ root: path.join(root, 'locks'), registryDir });
    expect(f.failures).toEqual([]);
  }, 60_000);
});

/**
 * fsck: find what killed or interrupted processes leave in a database folder, and (with
 * `repair`) remove it or register it again, without ever touching a complete key.
 *
 * Debris and how it is repaired:
 * - staged writes (`.isfdb.deleting.staging/<key>#tmp#...`) and retired values
 *   (`<key>.deleting.<X>`): under the key's lock, store/keyfolder.ts's `recoverKeyFolder` first
 *   rolls forward a complete write that was killed between its two renames, then what is left
 *   is removed. Holding the lock guarantees no live writer owns them.
 * - stale locks (`<key>.lock` not refreshed for `lockStaleMs`): removed.
 * - a key folder without Loader.json (a half-written key of a Python writer, or a hand-made
 *   folder): retired and removed under the key's lock, after checking again.
 * - a sub-database whose `db/db_state.json` is missing: a new db_state.json is written and registered.
 * - a database whose id is not registered (or registered elsewhere where no database with that
 *   id lives): registered again.
 * - temporary files of atomic file replacement (`.<name>.<pid>.<rand>.tmp`, `.db_state.json.<pid>.<rand>`)
 *   older than `tempAgeMs`: removed.
 * - scratch folders (`.isfdb.deleting.<purpose>-<host>-<pid>-*`, store/scratch.ts) of a process of
 *   this host that has died: removed. Another host's are left alone (offline: removed too).
 * Symbolic links are never followed: a key folder that is a link is reported and left alone.
 */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { isDataBaseError, messageOf } from './errors.js';
import { isKeyFolderName } from './keys.js';
import { newUniqueId, readDbState } from './dbstate.js';
import { DB_STATE_FILE, LOADER_FILE, dbStateSchema, loaderJsonSchema, parseJsonText, pythonJson, SUBDB_LOADER, SUBDB_FOLDER, REGISTERED_DUMPERS } from './ondisk.js';
import { Registry } from './registry.js';
import { keyOfRetired, listDbFolder, retiredValuesOf } from './walk.js';
import { giveCopyItsOwnId, holdsId, isCopyOf, registerChecked } from './registration.js';
import type { FsckFinding, FsckOptions, FsckRepair, FsckReport } from './fsck-findings.js';
import { replaceFileAtomically, syncDirectory } from './store/durable.js';
import { listStagedWrites, recoverKeyFolder, retireKeyFolder } from './store/keyfolder.js';
import { isAbandoned, scratchOwner } from './store/scratch.js';
import { DEFAULT_LOCK_OPTIONS, acquireLock, type HeldLock } from './store/locks.js';
import { shortLoaderName } from '../loaders/index.js';

export type { FsckFinding, FsckFindingKind, FsckRepair, FsckOptions, FsckReport } from './fsck-findings.js';
export { describeFsckFinding } from './fsck-findings.js';

/** Check (and with `repair`, fix) the database folder `dir` and every sub-database below it. */
export async function fsckDataBase(dir: string, options: FsckOptions = {}): Promise<FsckReport> {
  const basedir = path.resolve(dir);
  const report: FsckReport = { basedir, databasesChecked: 0, keysChecked: 0, findings: [], clean: true };
  const ctx: Ctx = {
    options,
    registry: options.registry ?? Registry.default(),
    staleMs: Math.max(options.lockStaleMs ?? DEFAULT_LOCK_OPTIONS.staleMs, 2000),
    report,
  };
  await checkDbFolder(basedir, [], ctx);
  await checkDanglingRegistrations(basedir, ctx);
  report.clean = report.findings.every((f) => 'repair' in f && f.repair !== undefined && f.repair.action !== 'failed' && f.repair.action !== 'left');
  return report;
}

interface Ctx {
  options: FsckOptions;
  registry: Registry;
  staleMs: number;
  report: FsckReport;
}

async function checkDbFolder(dir: string, prefix: string[], ctx: Ctx): Promise<void> {
  const { report, options } = ctx;
  report.databasesChecked++;
  await checkRegistration(dir, prefix, ctx);
  let listing: ReturnType<typeof listDbFolder>;
  try {
    listing = listDbFolder(dir);
  } catch (err) {
    report.findings.push({ kind: 'unreadable-state', path: dir, key: prefix, reason: messageOf(err) });
    return;
  }
  const { debris } = listing;
  if (debris.stagingLink !== undefined) {
    report.findings.push({ kind: 'symlink', path: debris.stagingLink, key: prefix, target: readlinkOr(debris.stagingLink) });
  }
  // Locks: stale ones are removed before anything waits for them.
  for (const name of debris.locks) await checkLock(dir, name, prefix, ctx);

  // Keys that have debris needing the key's lock: staged writes and retired values.
  const debrisKeys = new Set([...debris.stagedKeys, ...debris.retired.map(keyOfRetired)]);
  for (const name of [...debrisKeys].sort()) await cleanKeyDebris(dir, name, prefix, ctx);

  // Temporary files of atomic replacements.
  for (const name of debris.tempFiles) {
    const file = path.join(dir, name);
    const age = ageMs(file);
    if (age === undefined) continue;
    if (!options.offline && age < (options.tempAgeMs ?? 3_600_000)) continue;
    const finding: FsckFinding = { kind: 'temp-file', path: file, key: prefix };
    if (options.repair) finding.repair = await attempt(() => fs.rm(file, { force: true }), 'removed');
    report.findings.push(finding);
  }

  // Scratch folders of processes that have died (offline: of every process, whichever host).
  for (const name of debris.scratch) {
    const owner = scratchOwner(name);
    if (owner === undefined || !(options.offline || isAbandoned(owner))) continue;
    const folder = path.join(dir, name);
    const finding: FsckFinding = { kind: 'abandoned-scratch', path: folder, key: prefix, purpose: owner.purpose, pid: owner.pid };
    if (options.repair) finding.repair = await attempt(() => fs.rm(folder, { recursive: true, force: true }), 'removed');
    report.findings.push(finding);
  }

  // Key folders (as the walker lists them, from the listing read above).
  for (const entry of listing.keys) {
    const name = entry.name;
    const folder = path.join(dir, name);
    const key = [...prefix, name];
    if (entry.isSymbolicLink()) {
      ctx.report.keysChecked++;
      report.findings.push({ kind: 'symlink', path: folder, key, target: readlinkOr(folder) });
      continue;
    }
    if (!entry.isDirectory()) continue;
    ctx.report.keysChecked++;
    await checkKeyFolder(dir, name, key, ctx);
  }
}

async function checkKeyFolder(dir: string, name: string, key: string[], ctx: Ctx): Promise<void> {
  const folder = path.join(dir, name);
  const loaderFile = path.join(folder, LOADER_FILE);
  if (!existsNoFollow(loaderFile)) {
    if (!existsNoFollow(folder)) return; // swapped or deleted meanwhile
    if (existsNoFollow(path.join(folder, 'Loader.pickle'))) return; // legacy Python data: complete, not ours
    await removeIncompleteKey(dir, name, key, ctx);
    return;
  }
  let loader: string;
  try {
    loader = shortLoaderName(parseJsonText(fsSync.readFileSync(loaderFile, 'utf8'), loaderFile, loaderJsonSchema).Loader);
  } catch {
    return; // a damaged Loader.json is verify's business; fsck never removes a key that has one
  }
  if (loader !== SUBDB_LOADER) return;
  const sub = path.join(folder, SUBDB_FOLDER);
  let subStat: fsSync.Stats | undefined;
  try {
    subStat = fsSync.lstatSync(sub);
  } catch {
    subStat = undefined;
  }
  if (subStat?.isSymbolicLink()) {
    ctx.report.findings.push({ kind: 'symlink', path: sub, key, target: readlinkOr(sub) });
    return;
  }
  if (subStat !== undefined && !subStat.isDirectory()) {
    ctx.report.findings.push({ kind: 'unreadable-state', path: sub, key, reason: 'the sub-database folder is not a folder' });
    return;
  }
  if (subStat === undefined || !existsNoFollow(path.join(sub, DB_STATE_FILE))) {
    const finding: FsckFinding = { kind: 'subdb-missing-state', path: path.join(sub, DB_STATE_FILE), key };
    if (ctx.options.repair) {
      finding.repair = await attempt(async () => {
        await fs.mkdir(sub, { recursive: true });
        const id = newUniqueId();
        await replaceFileAtomically(path.join(sub, DB_STATE_FILE), pythonJson({ _registeredDumpers: REGISTERED_DUMPERS, _unique_id: id, _registered_to_path: sub }));
        if (!(await registerChecked(ctx.registry, id, sub))) throw new Error('the sub-database was removed meanwhile');
      }, 'recreated');
    }
    ctx.report.findings.push(finding);
    if (finding.repair?.action !== 'recreated') return;
  }
  await checkDbFolder(sub, key, ctx);
}

async function checkRegistration(dir: string, key: string[], ctx: Ctx): Promise<void> {
  const stateFile = path.join(dir, DB_STATE_FILE);
  let id: string | undefined;
  try {
    const state = parseJsonText(fsSync.readFileSync(stateFile, 'utf8'), stateFile, dbStateSchema);
    id = state._unique_id ?? undefined;
  } catch (err) {
    ctx.report.findings.push({ kind: 'unreadable-state', path: stateFile, key, reason: messageOf(err) });
    return;
  }
  if (id === undefined) return; // ISF gives it an id on the next writable open
  let registeredTo: string | undefined;
  try {
    registeredTo = await ctx.registry.lookup(id);
  } catch (err) {
    if (!isDataBaseError(err)) throw err;
    registeredTo = undefined;
  }
  if (registeredTo === dir) return;
  // Registered elsewhere, to a folder that holds the same id: one is a copy of the other. Never take
  // the id over; repair gives this one its own id (as a writable open of a copy does).
  if (registeredTo !== undefined && isCopyOf(dir, registeredTo, id)) {
    const copy: FsckFinding = { kind: 'duplicate-id', path: dir, key, id, registeredTo };
    if (ctx.options.repair) {
      copy.repair = await attempt(async () => {
        const state = await readDbState(dir);
        if (state !== undefined) await giveCopyItsOwnId(ctx.registry, dir, state);
      }, 'new-id');
    }
    ctx.report.findings.push(copy);
    return;
  }
  if (registeredTo !== undefined && holdsId(registeredTo, id)) return;
  const finding: FsckFinding = { kind: 'unregistered', path: dir, key, id, ...(registeredTo === undefined ? {} : { registeredTo }) };
  if (ctx.options.repair) {
    finding.repair = await attempt(async () => {
      // A concurrent delete of this sub-database may have unregistered it meanwhile: do not revive it.
      if (!(await registerChecked(ctx.registry, id, dir))) throw new Error('the database was removed meanwhile');
    }, 'registered');
  }
  ctx.report.findings.push(finding);
}

/** Registry entries for folders inside this database (a deleted sub-database's, say) where no database with that id lives. */
async function checkDanglingRegistrations(basedir: string, ctx: Ctx): Promise<void> {
  const { entries } = await ctx.registry.list();
  for (const entry of entries) {
    if (!entry.path.startsWith(basedir + path.sep) || holdsId(entry.path, entry.id)) continue;
    const relative = path.relative(basedir, entry.path).split(path.sep).filter((part) => part !== SUBDB_FOLDER);
    const finding: FsckFinding = { kind: 'dangling-registration', path: entry.path, key: relative, id: entry.id };
    if (ctx.options.repair) {
      finding.repair = await attempt(async () => {
        // Check again: a process may just be creating that sub-database.
        if ((await ctx.registry.lookup(entry.id).catch(() => undefined)) === entry.path && !holdsId(entry.path, entry.id)) await ctx.registry.unregister(entry.id);
      }, 'removed');
    }
    ctx.report.findings.push(finding);
  }
}

async function checkLock(dir: string, name: string, prefix: string[], ctx: Ctx): Promise<void> {
  const lockDir = path.join(dir, name);
  const key = [...prefix, name.slice(0, -'.lock'.length)];
  let stat: fsSync.Stats;
  try {
    stat = fsSync.lstatSync(lockDir);
  } catch {
    return; // released meanwhile
  }
  const age = Date.now() - stat.mtimeMs;
  if (!ctx.options.offline && age < ctx.staleMs) return; // held by a live process
  const finding: FsckFinding = { kind: 'stale-lock', path: lockDir, key, ageMs: Math.round(age) };
  if (ctx.options.repair) {
    finding.repair = await attempt(async () => {
      // Check again right before removing: a live process may just have taken it over.
      const now = fsSync.lstatSync(lockDir);
      if (!ctx.options.offline && Date.now() - now.mtimeMs < ctx.staleMs) throw new Error('taken over by a live process meanwhile');
      if (now.isDirectory()) fsSync.rmdirSync(lockDir);
      else fsSync.unlinkSync(lockDir); // a file or a symlink: the link itself, never its target
    }, 'removed');
  }
  ctx.report.findings.push(finding);
}

/** Staged writes and retired values of one key: recovered and removed under the key's lock. */
async function cleanKeyDebris(dir: string, name: string, prefix: string[], ctx: Ctx): Promise<void> {
  const key = [...prefix, name];
  // Listed again once the lock is held: what a live writer committed meanwhile is not debris.
  const list = (): Array<Extract<FsckFinding, { kind: 'staged-write' | 'retired-value' }>> => {
    const retired = retiredValuesOf(dir, name);
    return [
      ...listStagedWrites(dir, name).map((p) => ({ kind: 'staged-write' as const, path: p, key })),
      // Online, a retired value younger than a stale lock may still be being removed by its writer.
      ...retired.filter((p) => ctx.options.offline || (ageMs(p) ?? Infinity) >= ctx.staleMs).map((p) => ({ kind: 'retired-value' as const, path: p, key })),
    ];
  };
  if (!ctx.options.repair) {
    // Without the lock a live writer may own these; report only what is older than a stale lock.
    for (const finding of list()) {
      const age = ageMs(finding.path);
      if (ctx.options.offline || age === undefined || age >= ctx.staleMs) ctx.report.findings.push(finding);
    }
    return;
  }
  let lock: HeldLock | undefined;
  if (isKeyFolderName(name)) {
    lock = await lockForRepair(dir, name, key, ctx);
    if (lock === undefined) return;
  }
  try {
    const findings = list();
    if (findings.length === 0) return;
    const recovered = isKeyFolderName(name) ? await recoverKeyFolder(dir, name) : { removed: [] as string[] };
    for (const finding of findings) {
      if (finding.kind === 'staged-write') {
        if (finding.path === recovered.rolledForward) finding.repair = { action: 'rolled-forward', detail: `became the value of the key: its writer was killed between its two renames` };
        else if (recovered.removed.includes(finding.path)) finding.repair = { action: 'removed' };
        else finding.repair = await attempt(() => fs.rm(finding.path, { recursive: true, force: true }), 'removed');
      } else {
        // fs.rm does not follow symbolic links inside the folder.
        finding.repair = await attempt(() => fs.rm(finding.path, { recursive: true, force: true }), 'removed');
      }
      ctx.report.findings.push(finding);
    }
    await syncDirectory(dir);
  } finally {
    await lock?.release();
  }
}

/** The key's lock for a repair; undefined (and a 'busy' finding) when a live writer keeps it. */
async function lockForRepair(dir: string, name: string, key: string[], ctx: Ctx): Promise<HeldLock | undefined> {
  const lockPath = path.join(dir, `${name}.lock`);
  try {
    return await acquireLock(path.join(dir, name), lockPath, key.join('/'), {
      timeoutMs: ctx.options.lockTimeoutMs ?? 10_000,
      staleMs: ctx.staleMs,
    });
  } catch (err) {
    if (!isDataBaseError(err, 'LockTimeoutError', 'NotADataBaseError')) throw err;
    ctx.report.findings.push({ kind: 'busy', path: lockPath, key, reason: err.message });
    return undefined;
  }
}

async function removeIncompleteKey(dir: string, name: string, key: string[], ctx: Ctx): Promise<void> {
  const folder = path.join(dir, name);
  const finding: FsckFinding = { kind: 'incomplete-key', path: folder, key };
  if (!ctx.options.repair) {
    ctx.report.findings.push(finding);
    return;
  }
  const lock = await lockForRepair(dir, name, key, ctx);
  if (lock === undefined) return;
  try {
    // Check again under the lock: a writer may have completed the key meanwhile (roll forward included).
    await recoverKeyFolder(dir, name);
    const stat = fsSync.lstatSync(folder, { throwIfNoEntry: false });
    if (stat === undefined || stat.isSymbolicLink() || existsNoFollow(path.join(folder, LOADER_FILE))) return; // complete (or gone) meanwhile
    ctx.report.findings.push(finding);
    finding.repair = await attempt(async () => {
      const unregister = idOf(path.join(folder, SUBDB_FOLDER));
      if (unregister !== undefined && (await ctx.registry.lookup(unregister).catch(() => undefined)) === path.join(folder, SUBDB_FOLDER)) {
        await ctx.registry.unregister(unregister);
      }
      const retired = retireKeyFolder(dir, name);
      await syncDirectory(dir);
      if (retired !== undefined) await fs.rm(retired, { recursive: true, force: true });
    }, 'removed');
  } finally {
    await lock.release();
  }
}

function idOf(dbDir: string): string | undefined {
  try {
    const file = path.join(dbDir, DB_STATE_FILE);
    return parseJsonText(fsSync.readFileSync(file, 'utf8'), file, dbStateSchema)._unique_id ?? undefined;
  } catch {
    return undefined;
  }
}

async function attempt(fn: () => Promise<void> | void, action: FsckRepair['action']): Promise<FsckRepair> {
  try {
    await fn();
    return { action };
  } catch (err) {
    return { action: 'failed', detail: messageOf(err) };
  }
}

function existsNoFollow(p: string): boolean {
  return fsSync.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

function ageMs(p: string): number | undefined {
  const stat = fsSync.lstatSync(p, { throwIfNoEntry: false });
  return stat === undefined ? undefined : Date.now() - stat.mtimeMs;
}

function readlinkOr(p: string): string {
  try {
    return fsSync.readlinkSync(p);
  } catch {
    return '?';
  }
}

/** @deprecated Use fsckDataBase (one spelling of DataBase in every name). */
export const fsckDatabase = fsckDataBase;

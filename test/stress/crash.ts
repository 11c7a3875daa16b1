/**
 * Crash harness: a child writes (stress-crash.ts) and is killed with SIGKILL at a random moment;
 * after each kill every key must hold its complete old or its complete new value (byte-compared
 * with what was written), verify must find nothing and fsck --repair must leave no debris.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { DataBase, Registry, isErrorFinding } from '../../src/index.js';
import { generateCampaign } from '../../initializers/index.js';
import { ALL_KEYS, SIMRUN_KEY, applyOp, emptyModel, sameState, showState, type CrashOp, type KeyState, type Model } from './crash-model.js';
import { observe } from './check.js';
import { startProc } from './proc.js';
import { rng, type ValueSpec } from './values.js';

export interface CrashOptions {
  root: string;
  registryDir: string;
  iterations: number;
  /** Largest value the child writes (bytes). */
  maxBytes: number;
  /** Kill after a random delay in [0, maxDelayMs] once the child is ready. */
  maxDelayMs: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface CrashFigures {
  iterations: number;
  kills: number;
  operationsCompleted: number;
  operationsInFlightAtKill: number;
  keysChecked: number;
  /** Keys written by initSimrun, read back after each kill. */
  simrunKeysChecked: number;
  bytesCompared: number;
  largestValueBytes: number;
  /** Keys that were momentarily absent before recovery (a write killed between its two renames) and rolled forward by fsck. */
  rolledForward: number;
  debrisRepaired: number;
  corruptOrLost: number;
  verifyFindings: number;
  debrisLeftAfterRepair: number;
  failures: string[];
}

type Journal = Array<{ b?: number; e?: number; ok?: boolean; untyped?: string } & Partial<CrashOp>>;

export async function runCrash(options: CrashOptions): Promise<CrashFigures> {
  const log = options.log ?? (() => undefined);
  const figures: CrashFigures = {
    iterations: 0, kills: 0, operationsCompleted: 0, operationsInFlightAtKill: 0, keysChecked: 0, simrunKeysChecked: 0, bytesCompared: 0, largestValueBytes: 0,
    rolledForward: 0, debrisRepaired: 0, corruptOrLost: 0, verifyFindings: 0, debrisLeftAfterRepair: 0, failures: [],
  };
  fsSync.mkdirSync(options.root, { recursive: true });
  const dbDir = path.join(options.root, 'crash-db');
  const registry = new Registry(options.registryDir);
  // A small simulation campaign for initSimrun operations (skipped when the initializer fails here).
  let campaign: string | undefined;
  try {
    campaign = (await generateCampaign(path.join(options.root, 'campaign'), { trials: 6, trialsPerFolder: 3, timePoints: 100, seed: 2 })).root;
  } catch (err) {
    log(`  note: no initSimrun operations: generateCampaign failed (${(err as Error).message})`);
  }
  const env: Record<string, string> = { ISFDB_REGISTRY: options.registryDir, ...(campaign === undefined ? {} : { STRESS_CAMPAIGN: campaign }) };
  const random = rng(options.seed ?? 12345);
  let model: Model = emptyModel();
  const fail = (msg: string): void => { figures.failures.push(msg); log(`  FAIL ${msg}`); };

  for (let it = 0; it < options.iterations; it++) {
    figures.iterations++;
    const journalFile = path.join(options.root, `crash-journal-${it}.jsonl`);
    const child = startProc('stress-crash', [dbDir, journalFile, String(it + 1 + (options.seed ?? 0)), String(options.maxBytes)], env);
    await child.line('ready');
    await new Promise((r) => setTimeout(r, random.int(options.maxDelayMs + 1)));
    if (child.exited()) {
      const r = await child.done;
      fail(`iteration ${it}: child exited by itself (${String(r.code)}): ${r.stderr.slice(0, 500)}`);
    } else {
      child.kill('SIGKILL');
      figures.kills++;
    }
    await child.done;

    // Replay the journal: completed operations change the model; the one in flight allows two states.
    const lines = fsSync.readFileSync(journalFile, 'utf8').split('\n').filter((l) => l !== '');
    const journal: Journal = [];
    for (const line of lines) {
      try { journal.push(JSON.parse(line) as Journal[number]); } catch { /* the child was killed mid-line */ }
    }
    let inFlight: CrashOp | undefined;
    for (const rec of journal) {
      if (rec.b !== undefined) { inFlight = { op: rec.op!, key: rec.key!, ...(rec.spec ? { spec: rec.spec } : {}), ...(rec.entries ? { entries: rec.entries } : {}) }; continue; }
      if (rec.e !== undefined && inFlight !== undefined) {
        if (rec.untyped) fail(`iteration ${it}: untyped error in the child: ${rec.untyped.slice(0, 300)}`);
        if (rec.ok) model = applyOp(model, inFlight);
        figures.operationsCompleted++;
        for (const spec of [inFlight.spec, ...(inFlight.entries ?? []).map((e) => e.spec)]) {
          if (spec) figures.largestValueBytes = Math.max(figures.largestValueBytes, spec.bytes);
        }
        inFlight = undefined;
      }
    }
    const after = inFlight === undefined ? model : applyOp(model, inFlight);
    if (inFlight !== undefined) figures.operationsInFlightAtKill++;

    // Repair first (offline: the only writer is dead), then check every key.
    const db = await DataBase.open(dbDir, { registry, lockStaleMs: 2000 });
    const repaired = await db.fsck({ repair: true, offline: true });
    for (const f of repaired.findings) {
      if ('repair' in f && f.repair?.action === 'rolled-forward') figures.rolledForward++;
      else if ('repair' in f && (f.repair?.action === 'removed' || f.repair?.action === 'registered' || f.repair?.action === 'recreated')) figures.debrisRepaired++;
      else fail(`iteration ${it}: fsck --repair could not repair: ${JSON.stringify(f)}`);
    }

    const next: Model = new Map();
    for (const key of ALL_KEYS) {
      figures.keysChecked++;
      const before = model.get(key)!;
      const wanted = after.get(key)!;
      const candidates = [before, wanted].filter((s): s is Extract<KeyState, { t: 'data' }> => s.t === 'data').map((s) => s.spec);
      const seen = await observe(db, key, candidates);
      if (seen.problem !== undefined) {
        figures.corruptOrLost++;
        fail(`iteration ${it}: key ${key}: ${seen.problem} (old ${showState(before)}, new ${showState(wanted)})`);
        next.set(key, seen.state);
        continue;
      }
      if (!sameState(seen.state, before) && !sameState(seen.state, wanted)) {
        figures.corruptOrLost++;
        fail(`iteration ${it}: key ${key} holds ${showState(seen.state)}, expected old ${showState(before)} or new ${showState(wanted)}${inFlight ? ` (in flight: ${inFlight.op} ${inFlight.key.join('/')})` : ''}`);
      }
      if (seen.state.t === 'data') figures.bytesCompared += (seen.state.spec as ValueSpec).bytes;
      next.set(key, seen.state);
    }
    const onDisk = (await db.keys({ recurse: true })).map((k) => k.join('/'));
    for (const k of onDisk) {
      if (k.startsWith(`${SIMRUN_KEY}/`)) {
        // initSimrun's keys: each one, whether written before or during the kill, reads back complete.
        figures.simrunKeysChecked++;
        try { await db.get(k.split('/')); } catch (err) { figures.corruptOrLost++; fail(`iteration ${it}: simrun key ${k} unreadable: ${(err as Error).message}`); }
      } else if (!ALL_KEYS.includes(k)) fail(`iteration ${it}: unexpected key ${k} on disk`);
    }
    model = next;

    const verified = await db.verify();
    const errors = verified.findings.filter(isErrorFinding);
    figures.verifyFindings += errors.length;
    for (const f of errors) fail(`iteration ${it}: verify: ${JSON.stringify(f)}`);
    const left = await db.fsck({ offline: true });
    figures.debrisLeftAfterRepair += left.findings.length;
    for (const f of left.findings) fail(`iteration ${it}: debris after repair: ${JSON.stringify(f)}`);
    fsSync.rmSync(journalFile, { force: true });
    if ((it + 1) % 10 === 0) log(`  crash ${it + 1}/${options.iterations}: ${figures.operationsCompleted} ops, ${figures.rolledForward} rolled forward, ${figures.debrisRepaired} debris repaired, ${figures.failures.length} failures`);
  }
  return figures;
}

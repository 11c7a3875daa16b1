/** The crash harness's key set and operations, shared by the child (stress-crash.ts) and the checker. */
import type { ValueSpec } from './values.js';

export const CRASH_DATA_KEYS = ['k0', 'k1', 'k2', 'k3'] as const;
export const CRASH_SUB_KEYS = ['x0', 'x1'] as const;

export interface CrashOp {
  op: 'set' | 'setMany' | 'delete' | 'createSubDb' | 'createManagedFolder' | 'initSimrun';
  key: string[];
  spec?: ValueSpec;
  /** setMany's keys and values (`key` is then the first one's). */
  entries?: Array<{ key: string[]; spec: ValueSpec }>;
}

/** What a key holds, as the checker models it. */
export type KeyState =
  | { t: 'absent' }
  | { t: 'data'; spec: ValueSpec }
  | { t: 'subdb' }
  | { t: 'folder' };

export type Model = Map<string, KeyState>;

export const ALL_KEYS: string[] = [...CRASH_DATA_KEYS, 's1', ...CRASH_SUB_KEYS.map((k) => `s1/${k}`), 'mf', 'sim'];
/** The sub-database initSimrun fills; its keys are checked for completeness, not modelled one by one. */
export const SIMRUN_KEY = 'sim';

export function emptyModel(): Model {
  return new Map(ALL_KEYS.map((k) => [k, { t: 'absent' } as KeyState]));
}

/** The model after `op` succeeded. */
export function applyOp(model: Model, op: CrashOp): Model {
  const next = new Map(model);
  const name = op.key.join('/');
  switch (op.op) {
    case 'set':
      next.set(name, { t: 'data', spec: op.spec! });
      if (op.key.length > 1) next.set(op.key[0]!, { t: 'subdb' });
      break;
    case 'setMany':
      // Each key of a batch is atomic on its own: a killed batch leaves each one old or new.
      for (const entry of op.entries!) {
        next.set(entry.key.join('/'), { t: 'data', spec: entry.spec });
        if (entry.key.length > 1) next.set(entry.key[0]!, { t: 'subdb' });
      }
      break;
    case 'delete':
      next.set(name, { t: 'absent' });
      for (const k of ALL_KEYS) if (k.startsWith(`${name}/`)) next.set(k, { t: 'absent' });
      break;
    case 'createSubDb':
    case 'initSimrun':
      next.set(name, { t: 'subdb' });
      break;
    case 'createManagedFolder':
      next.set(name, { t: 'folder' });
      break;
  }
  return next;
}

export function sameState(a: KeyState, b: KeyState): boolean {
  if (a.t !== b.t) return false;
  if (a.t === 'data' && b.t === 'data') return a.spec.id === b.spec.id && a.spec.kind === b.spec.kind && a.spec.bytes === b.spec.bytes;
  return true;
}

export function showState(s: KeyState): string {
  return s.t === 'data' ? `data(${s.spec.kind} #${s.spec.id}, ${s.spec.bytes} B)` : s.t;
}

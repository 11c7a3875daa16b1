/** What fsck reports: its findings, the repairs, the options and the report, and one line per finding for people. */
import type { Registry } from './registry.js';

export type FsckFinding =
  /** A temporary write folder of a writer that is gone (or, without repair, maybe still writing). */
  | { kind: 'staged-write'; path: string; key: string[]; repair?: FsckRepair }
  /** A `<key>.deleting.<X>` folder left by an overwrite or delete that was killed. */
  | { kind: 'retired-value'; path: string; key: string[]; repair?: FsckRepair }
  /** A lock not refreshed for longer than the stale timeout: its holder is dead. */
  | { kind: 'stale-lock'; path: string; key: string[]; ageMs: number; repair?: FsckRepair }
  /** A key folder without Loader.json. */
  | { kind: 'incomplete-key'; path: string; key: string[]; repair?: FsckRepair }
  /** A key folder (or the staging or db folder) that is a symbolic link: never followed, never repaired. */
  | { kind: 'symlink'; path: string; key: string[]; target: string }
  /** A sub-database key whose db/db_state.json is missing. */
  | { kind: 'subdb-missing-state'; path: string; key: string[]; repair?: FsckRepair }
  /** A database whose db_state.json cannot be read: reported, never rewritten (it holds the id). */
  | { kind: 'unreadable-state'; path: string; key: string[]; reason: string }
  /** A database whose id is not registered to its folder. */
  | { kind: 'unregistered'; path: string; key: string[]; id: string; registeredTo?: string; repair?: FsckRepair }
  /** A database holding the id registered to another folder that holds it too: a copy (or the original of one). */
  | { kind: 'duplicate-id'; path: string; key: string[]; id: string; registeredTo: string; repair?: FsckRepair }
  /** A registry entry pointing inside this database at a folder that holds no database with that id. */
  | { kind: 'dangling-registration'; path: string; key: string[]; id: string; repair?: FsckRepair }
  /** A leftover temporary file of an atomic file replacement. */
  | { kind: 'temp-file'; path: string; key: string[]; repair?: FsckRepair }
  /** A process's scratch folder (initSimrun's staged partitions, say) whose process has died. */
  | { kind: 'abandoned-scratch'; path: string; key: string[]; purpose: string; pid: number; repair?: FsckRepair }
  /** Debris fsck could not look at because a live process holds the key's lock. */
  | { kind: 'busy'; path: string; key: string[]; reason: string };

export type FsckFindingKind = FsckFinding['kind'];

/** What repair did about a finding. */
export interface FsckRepair {
  action: 'removed' | 'rolled-forward' | 'registered' | 'recreated' | 'new-id' | 'left' | 'failed';
  detail?: string;
}

export interface FsckOptions {
  /** Remove or re-register what was found (default: only report). */
  repair?: boolean;
  /** Where ids are registered (default: $ISFDB_REGISTRY or ~/.isf-data-base/registry). */
  registry?: Registry;
  /** Age after which a lock counts as left by a dead process (default 10 s, at least 2 s). */
  lockStaleMs?: number;
  /** How long to wait for a key's lock before reporting the key as busy (default 10 s). */
  lockTimeoutMs?: number;
  /** Age after which a temporary file counts as left by a dead process (default 1 h). */
  tempAgeMs?: number;
  /**
   * The caller asserts that no process uses the database (e.g. after a node crash): every lock
   * counts as stale and every temporary file as dead.
   */
  offline?: boolean;
}

export interface FsckReport {
  basedir: string;
  databasesChecked: number;
  keysChecked: number;
  findings: FsckFinding[];
  /** True when nothing was found, or everything found was repaired. */
  clean: boolean;
}

/** One line per finding, for people. */
export function describeFsckFinding(finding: FsckFinding): string {
  const key = finding.key.length === 0 ? '(database)' : finding.key.join('/');
  const repaired = 'repair' in finding && finding.repair !== undefined
    ? ` -> ${finding.repair.action}${finding.repair.detail === undefined ? '' : ` (${finding.repair.detail})`}`
    : '';
  switch (finding.kind) {
    case 'staged-write': return `${key}: temporary write folder ${finding.path}${repaired}`;
    case 'retired-value': return `${key}: leftover of an overwrite or delete ${finding.path}${repaired}`;
    case 'stale-lock': return `${key}: stale lock ${finding.path} (not refreshed for ${finding.ageMs} ms)${repaired}`;
    case 'incomplete-key': return `${key}: key folder without Loader.json ${finding.path}${repaired}`;
    case 'symlink': return `${key}: ${finding.path} is a symbolic link to ${finding.target} (not followed; remove it by hand if it should not be there)`;
    case 'subdb-missing-state': return `${key}: sub-database without db_state.json ${finding.path}${repaired}`;
    case 'unreadable-state': return `${key}: ${finding.path}: ${finding.reason}`;
    case 'duplicate-id': return `${key}: database ${finding.path} holds id ${finding.id}, which is registered to ${finding.registeredTo}, a database with the same id: one is a copy of the other${finding.repair === undefined ? ` (isfdb fsck ${finding.path} --repair gives ${finding.path} an id of its own)` : repaired}`;
    case 'unregistered': return `${key}: database ${finding.path} (id ${finding.id}) is ${finding.registeredTo === undefined ? 'not registered' : `registered to ${finding.registeredTo}`}${repaired}`;
    case 'dangling-registration': return `${key}: registry entry ${finding.id} points at ${finding.path}, where no database with that id is${repaired}`;
    case 'temp-file': return `${key}: leftover temporary file ${finding.path}${repaired}`;
    case 'abandoned-scratch': return `${key}: scratch folder of process ${finding.pid} (${finding.purpose}), which has ended: ${finding.path}${repaired}`;
    case 'busy': return `${key}: skipped, ${finding.reason}`;
  }
}

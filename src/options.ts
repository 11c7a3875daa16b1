/** The options of DataBase (open, write, maybeCalculate, setMany), in one place for readers of the API. */
import type { Key } from './keys.js';
import type { RecipeOptions } from './lineage.js';
import type { ProvenanceFacts } from './provenance.js';
import type { Registry } from './registry.js';
import type { KeyLocks } from './store/locks.js';
import type { RedisLockOptions } from './store/redis-locks.js';
import type { Loader } from '../loaders/types.js';

export interface OpenOptions {
  /** Refuse every write; never takes locks. Sub-databases inherit it. */
  readonly?: boolean;
  /** Throw instead of creating a database where there is none. */
  nocreate?: boolean;
  /** How long a writer waits for another writer of the same key (default 60 s). */
  lockTimeoutMs?: number;
  /** Age after which a lock of a killed process is taken over (default 10 s, at least 2 s). */
  lockStaleMs?: number;
  /** A folder in the git checkout of the code writing keys (default: the working directory). */
  gitDir?: string;
  /** Where ids are registered (default: $ISFDB_REGISTRY or ~/.isf-data-base/registry). */
  registry?: Registry;
  /**
   * fsync every written file and folder before a write becomes visible (default true): a value
   * then survives power loss. With false, writes stay atomic against killed processes (the page
   * cache survives them) but a power cut may lose recent ones; about 3x more small writes per second.
   */
  fsync?: boolean;
  /** Keep the last N values of a key on overwrite (see history.ts); 0 (default) drops them as ISF does. */
  keepVersions?: number;
  /** How writers of a key are serialised (default: `<key>.lock` folders, see store/locks.ts); e.g. a Redis backend. */
  locks?: KeyLocks | RedisLockOptions;
  /**
   * The provenance facts (git, module versions) of the process that started this one, from its
   * `db.prepareWrites()`, for writers running the same code from the same working directory:
   * metadata.json then says the same, and this process runs no git. db.run's workers get them.
   */
  provenance?: ProvenanceFacts;
}

/** Options of one write. */
export interface WriteOptions {
  /** Overrides the database's keepVersions for this write. */
  keepVersions?: number;
}

/** `params`, `inputs` and `code` make a recipe (see lineage.ts); without them ISF's behaviour: compute once, then read. */
export interface MaybeCalculateOptions extends RecipeOptions {
  force?: boolean;
  dumper?: string | Loader<never>;
  /** Overrides the database's keepVersions when this call overwrites the key. */
  keepVersions?: number;
}

/** Extras of a write: fields added to metadata.json, and the history setting. */
export interface WriteExtras {
  extraMetadata?: Record<string, unknown>;
  keepVersions?: number;
}

/** What a key is, for listings: its loader's short name and, for sub-databases, that fact. */
export interface KeyInfo {
  key: string[];
  loader: string;
}

/** One entry of setMany: a key, its value and, optionally, the dumper and its options. */
export interface SetManyEntry {
  key: Key;
  value: unknown;
  dumper?: string | Loader<never>;
  dumpOptions?: Record<string, unknown>;
  /**
   * Fields added to this key's metadata.json (after the provenance and checksums), e.g. the
   * recipe that maybeCalculate records: `{ [RECIPE_FIELD]: await buildRecipe(...) }`.
   */
  extraMetadata?: Record<string, unknown>;
  /** Overrides setMany's (and the database's) keepVersions for this key. */
  keepVersions?: number;
  /**
   * Called while this key's lock is held, right before it is written: true leaves the key as it
   * is (a check-then-write under the lock, as maybeCalculate does: "a fresh result is there").
   */
  skipIf?: () => boolean | Promise<boolean>;
}

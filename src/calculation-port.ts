/**
 * What lineage.ts's `calculate` (maybeCalculate) needs from a database, built over its folder so
 * that lineage stays out of the database's internals: reads of the key, facts of its inputs, and
 * a write under the key's lock.
 */
import path from 'node:path';
import { KeyNotFoundError, KeyTypeConflictError } from './errors.js';
import { formatKey, keyParts, relativeKeyFolder, type Key } from './keys.js';
import type { MetadataJson } from './ondisk.js';
import type { MaybeCalculateOptions } from './options.js';
import { folderDigest, type CalculationPort } from './lineage.js';
import { chooseDumper } from './key-io.js';
import type { DbFolder } from './db-folder.js';

/** The reads of the public API that a calculation uses (they resolve tuple keys and retry across swaps). */
export interface KeyReads {
  has(key: Key): Promise<boolean>;
  metadata(key: Key): Promise<MetadataJson>;
  get(key: Key): Promise<unknown>;
}

export function calculationPort(top: DbFolder, key: Key, options: MaybeCalculateOptions, reads: KeyReads): CalculationPort {
  const parts = keyParts(key);
  const shown = formatKey(parts);
  const name = parts[parts.length - 1]!;
  const folderOf = (k: Key) => path.join(top.basedir, relativeKeyFolder(keyParts(k)));
  return {
    basedir: top.basedir,
    shown,
    readonly: top.readonly,
    resultDb: path.dirname(folderOf(parts)),
    exists: () => reads.has(parts),
    metadata: () => reads.metadata(parts),
    read: () => reads.get(parts),
    inputFacts: async (input) => {
      if (!(await reads.has(input))) throw new KeyNotFoundError(formatKey(input), top.basedir);
      const folder = folderOf(input);
      return { checksum: await folderDigest(folder), folder };
    },
    withLock: async (body) => {
      const parent = (await top.parentOf(parts, { create: true }))!;
      return parent.withKeyLock(name, shown, (lock) => body(async (value, extraMetadata) => {
        const loader = await chooseDumper(value, options.dumper, shown);
        if (loader.kind === 'database') {
          throw new KeyTypeConflictError(shown, parent.basedir, 'maybeCalculate cannot store a sub-database; use createSubDb');
        }
        await parent.writeLocked(name, shown, loader, value, undefined, lock, { extraMetadata, keepVersions: options.keepVersions });
      }));
    },
  };
}

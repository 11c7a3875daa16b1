/**
 * Version history of keys. With `keepVersions: N`, overwriting a key moves its old folder (data,
 * Loader.json and metadata.json untouched) into `<db>/.isfdb.deleting.history/<key>/<n>/` instead
 * of removing it. The name contains `.deleting.`, so Python ISF (and our keys()) never list it:
 * ISF still sees exactly one current folder per key. Version numbers are given when a value
 * leaves the current place (1, 2, 3, ...), never reused; the current value is version 'current'.
 *
 * Every function here expects the caller to hold the key's lock when it changes anything.
 *
 * Crash windows: a write retires the old value to ISF's `<key>.deleting.<X>` first (so the
 * existing recovery can roll a new value forward), then renames it into the history. A process
 * killed between those renames leaves the old value as debris instead of history; the current
 * value is never lost. A restore copies the chosen version into the staging folder and commits
 * it like any write, so a crash leaves the key with its old or its restored value; the version
 * leaves the history only after the restored copy is in place.
 */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { VersionNotFoundError, InvalidInputError } from './errors.js';
import { CHECKSUMS_FIELD, LOADER_FILE, METADATA_FILE, loaderJsonSchema, readFolderMetadata, readJsonFile, type MetadataJson } from './ondisk.js';
import { checksumFolder, contentDigest } from './store/checksum.js';
import { pathExists, syncDirectory } from './store/durable.js';
import { commitKey } from './store/commit.js';
import { historyDir, isVersionName, listVersionNumbers, pruneHistory, versionFolder } from './store/versions.js';
import { RECIPE_FIELD, recipeOf } from './recipe.js';

export { HISTORY_FOLDER, historyDir, versionFolder, listVersionNumbers, pruneHistory } from './store/versions.js';

export type VersionRef = number | 'current';

/** One value of a key, current or kept, with its provenance (from its metadata.json). */
export interface VersionInfo {
  version: VersionRef;
  current: boolean;
  /** When the value was written (UTC, ISO 8601), or null when its metadata has no time. */
  time: string | null;
  /** The writing code's git commit (`full-revisionid`), or null. */
  gitCommit: string | null;
  /** `git describe` of the writing code (metadata `version`), or null. */
  gitVersion: string | null;
  dirty: boolean | null;
  loader: string;
  /** Bytes in the value's files (Loader.json and metadata.json included). */
  size: number;
  /** One digest of the content (contentDigest of `isfdb_checksums`), or null when not recorded. */
  checksum: string | null;
  /** The recipe hash when the value was computed by maybeCalculate with a recipe. */
  recipe: string | null;
  folder: string;
}

/** 'current', or a positive integer version number, from user text. */
export function parseVersionRef(text: string): VersionRef {
  if (text === 'current') return 'current';
  if (!isVersionName(text)) throw InvalidInputError.value('version', `'${text}' is not a version: use a number from the history or 'current'`);
  return Number(text);
}

export function checkVersionRef(version: unknown): VersionRef {
  if (version === 'current') return version;
  if (typeof version === 'number' && Number.isInteger(version) && version > 0) return version;
  if (typeof version === 'string') return parseVersionRef(version);
  throw InvalidInputError.value('version', `${String(version)} is not a version: use a number from the history or 'current'`);
}

/** The folder holding `version` of key folder `name`; VersionNotFoundError when there is none. */
export async function resolveVersionFolder(dbDir: string, name: string, shown: string, version: VersionRef): Promise<string> {
  const folder = version === 'current' ? path.join(dbDir, name) : versionFolder(dbDir, name, version);
  if (await pathExists(path.join(folder, LOADER_FILE))) return folder;
  throw new VersionNotFoundError(shown, String(version), dbDir, await listVersionNumbers(dbDir, name));
}

/** Every kept version (oldest first) and then the current value, if the key exists. */
export async function listVersions(dbDir: string, name: string): Promise<VersionInfo[]> {
  const out: VersionInfo[] = [];
  for (const version of await listVersionNumbers(dbDir, name)) {
    const info = await describeFolder(versionFolder(dbDir, name, version), version).catch(() => undefined);
    if (info !== undefined) out.push(info); // a version pruned meanwhile
  }
  const current = path.join(dbDir, name);
  if (await pathExists(path.join(current, LOADER_FILE))) out.push(await describeFolder(current, 'current'));
  return out;
}

/** Provenance and size of one value's folder. */
export async function describeFolder(folder: string, version: VersionRef): Promise<VersionInfo> {
  const meta = await readFolderMetadata(folder);
  const checksums = meta[CHECKSUMS_FIELD];
  return {
    version,
    current: version === 'current',
    time: timeOf(meta),
    gitCommit: meta['full-revisionid'] ?? null,
    gitVersion: meta.version ?? null,
    dirty: meta.dirty ?? null,
    loader: meta.dumper,
    size: await folderSize(folder),
    checksum: checksums === undefined ? null : contentDigest(checksums),
    recipe: recipeOf(meta)?.hash ?? null,
    folder,
  };
}

/**
 * Make `version` the current value; the current value (if any) becomes the newest version.
 * Returns the number the previous current value got. The caller holds the key's lock.
 * The version travels like a new value, through the one commit (store/commit.ts): a restore
 * killed between its two renames is rolled forward by the next writer or fsck, so the key is
 * never left without a value, and the version leaves the history only after its copy is in place.
 */
export async function restoreVersion(dbDir: string, name: string, shown: string, version: number, keep: number, { durable = true } = {}): Promise<number | undefined> {
  const source = await resolveVersionFolder(dbDir, name, shown, version);
  const jsonFiles = new Set([path.join(source, LOADER_FILE), path.join(source, METADATA_FILE)]);
  const { keptAs } = await commitKey({
    dbDir,
    name,
    write: async (staged) => {
      await fs.cp(source, staged.dir, { recursive: true, filter: (file) => !jsonFiles.has(file) });
      const metadataFile = path.join(source, METADATA_FILE);
      const metadata = fsSync.existsSync(metadataFile) ? fsSync.readFileSync(metadataFile, 'utf8') : undefined;
      // The kept files are copied as they are: their recorded checksums still hold.
      return { loaderJson: fsSync.readFileSync(path.join(source, LOADER_FILE), 'utf8'), metadata: () => metadata, checksums: false };
    },
    history: { keep: Infinity },
  }, { durable });
  // Only now does the restored version leave the history: until here it was the safe copy.
  await fs.rm(source, { recursive: true, force: true });
  await syncDirectory(historyDir(dbDir, name));
  // Never prune the value that was current a moment ago.
  if (keep > 0) await pruneHistory(dbDir, name, Math.max(keep, 1));
  return keptAs;
}

/** One provenance field that differs between two versions. */
export interface FieldDifference {
  field: string;
  a: unknown;
  b: unknown;
}

export interface VersionDiff {
  a: VersionInfo;
  b: VersionInfo;
  /** metadata.json fields (and the Loader.json `Loader`) whose values differ, in field order. */
  fields: FieldDifference[];
  /** Whether the data files differ (compared by checksums). */
  contentChanged: boolean;
}

/** Compare two values of the key in `folder` (version numbers from db.history, or 'current'). */
export async function diffVersions(folder: string, shown: string, a: VersionRef, b: VersionRef): Promise<VersionDiff> {
  const [dbDir, name] = [path.dirname(folder), path.basename(folder)];
  const [folderA, folderB] = await Promise.all([a, b].map((v) => resolveVersionFolder(dbDir, name, shown, checkVersionRef(v))));
  return diffFolders({ folder: folderA!, version: a }, { folder: folderB!, version: b });
}

/** Compare two value folders: which provenance fields differ, and whether the content changed. */
export async function diffFolders(a: { folder: string; version: VersionRef }, b: { folder: string; version: VersionRef }): Promise<VersionDiff> {
  const [infoA, infoB] = await Promise.all([describeFolder(a.folder, a.version), describeFolder(b.folder, b.version)]);
  const [metaA, metaB] = await Promise.all([readFolderMetadata(a.folder), readFolderMetadata(b.folder)]);
  const [loaderA, loaderB] = await Promise.all([a.folder, b.folder].map((f) => readJsonFile(path.join(f, LOADER_FILE), loaderJsonSchema)));
  const fields: FieldDifference[] = [];
  if (JSON.stringify(loaderA) !== JSON.stringify(loaderB)) fields.push({ field: 'Loader.json', a: loaderA, b: loaderB });
  const names = [...new Set([...Object.keys(metaA), ...Object.keys(metaB)])].filter((f) => f !== CHECKSUMS_FIELD && f !== RECIPE_FIELD);
  for (const field of names) {
    const va = (metaA as Record<string, unknown>)[field];
    const vb = (metaB as Record<string, unknown>)[field];
    if (JSON.stringify(va) !== JSON.stringify(vb)) fields.push({ field, a: va ?? null, b: vb ?? null });
  }
  fields.push(...recipeDifferences(metaA, metaB));
  const digest = async (folder: string, meta: MetadataJson): Promise<string> =>
    contentDigest(meta[CHECKSUMS_FIELD] ?? (await checksumFolder(folder, [LOADER_FILE, METADATA_FILE])));
  const contentChanged = (await digest(a.folder, metaA)) !== (await digest(b.folder, metaB));
  return { a: infoA, b: infoB, fields, contentChanged };
}

/** Recipe fields that differ, one entry per param path, input or code. */
function recipeDifferences(metaA: MetadataJson, metaB: MetadataJson): FieldDifference[] {
  const ra = recipeOf(metaA);
  const rb = recipeOf(metaB);
  if (ra === undefined && rb === undefined) return [];
  if (ra === undefined || rb === undefined) return [{ field: RECIPE_FIELD, a: ra ?? null, b: rb ?? null }];
  const out: FieldDifference[] = [];
  const flatA = flatten(ra.params, `${RECIPE_FIELD}.params`);
  const flatB = flatten(rb.params, `${RECIPE_FIELD}.params`);
  for (const field of [...new Set([...flatA.keys(), ...flatB.keys()])].sort()) {
    if (flatA.get(field) !== flatB.get(field)) out.push({ field, a: parseOrNull(flatA.get(field)), b: parseOrNull(flatB.get(field)) });
  }
  if (ra.code !== rb.code) out.push({ field: `${RECIPE_FIELD}.code`, a: ra.code, b: rb.code });
  const inputsA = new Map(ra.inputs.map((i) => [JSON.stringify(i.key), i.checksum]));
  const inputsB = new Map(rb.inputs.map((i) => [JSON.stringify(i.key), i.checksum]));
  for (const key of [...new Set([...inputsA.keys(), ...inputsB.keys()])].sort()) {
    if (inputsA.get(key) !== inputsB.get(key)) {
      out.push({ field: `${RECIPE_FIELD}.inputs[${(JSON.parse(key) as string[]).join('/')}]`, a: inputsA.get(key) ?? null, b: inputsB.get(key) ?? null });
    }
  }
  return out;
}

/** Leaves of a JSON value as `path -> JSON text`. */
function flatten(value: unknown, prefix: string, out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, `${prefix}.${k}`, out);
  } else {
    out.set(prefix, JSON.stringify(value ?? null));
  }
  return out;
}

function parseOrNull(text: string | undefined): unknown {
  return text === undefined ? null : JSON.parse(text);
}

function timeOf(meta: MetadataJson): string | null {
  const time = meta.time;
  if (Array.isArray(time)) {
    const [y, mo, d, h, mi, s] = time;
    if (y === undefined || mo === undefined || d === undefined) return null;
    return new Date(Date.UTC(y, mo - 1, d, h ?? 0, mi ?? 0, s ?? 0)).toISOString();
  }
  return typeof time === 'string' ? time : null;
}

async function folderSize(folder: string): Promise<number> {
  const entries = await fs.readdir(folder, { withFileTypes: true, recursive: true });
  let total = 0;
  for (const entry of entries) {
    if (entry.isFile()) total += (await fs.stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

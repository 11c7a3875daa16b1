/**
 * The content of metadata.json: which code wrote a key, where and when. Git facts come from
 * the repository of the calling program (the working directory unless told otherwise) and are
 * read once per process and folder, because `set` is hot and the code does not change under it.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from './errors.js';
import type { MetadataJson } from './ondisk.js';

export interface GitFacts {
  version: string | null;
  'full-revisionid': string | null;
  dirty: boolean | null;
  error: string | null;
}

const gitFactsCache = new Map<string, Promise<GitFacts>>();

/** Git facts of the checkout containing `dir`, cached per process. */
export function gitFacts(dir: string): Promise<GitFacts> {
  const resolved = path.resolve(dir);
  let facts = gitFactsCache.get(resolved);
  if (facts === undefined) {
    facts = readGitFacts(resolved);
    gitFactsCache.set(resolved, facts);
  }
  return facts;
}

/**
 * What a writing process knows of its code, as plain JSON: the git facts of `dir` (resolved) and
 * the module versions. A process that starts writers running the same code from the same
 * working directory (db.run's worker processes) reads them once and hands them on, so that its
 * workers run no git at start-up.
 */
export interface ProvenanceFacts {
  dir: string;
  git: GitFacts;
  modules: ModuleFacts;
}

export async function provenanceFacts(dir: string): Promise<ProvenanceFacts> {
  const [git, modules] = await Promise.all([gitFacts(dir), moduleFacts()]);
  return { dir: path.resolve(dir), git, modules };
}

/** Take facts handed on by the process that started this one; facts this process read itself win. */
export function seedProvenance(facts: ProvenanceFacts): void {
  if (!isProvenanceFacts(facts)) throw InvalidInputError.value('the provenance open option', 'is not what db.prepareWrites() returns ({ dir, git, modules })');
  if (!gitFactsCache.has(facts.dir)) gitFactsCache.set(facts.dir, Promise.resolve(facts.git));
  moduleFactsCache ??= Promise.resolve(facts.modules);
}

function isProvenanceFacts(facts: unknown): facts is ProvenanceFacts {
  const f = facts as Partial<ProvenanceFacts> | null;
  const nullable = (v: unknown, type: string) => v === null || typeof v === type;
  return typeof f === 'object' && f !== null && typeof f.dir === 'string' && path.isAbsolute(f.dir)
    && typeof f.git === 'object' && f.git !== null && nullable(f.git.version, 'string') && nullable(f.git['full-revisionid'], 'string')
    && nullable(f.git.dirty, 'boolean') && nullable(f.git.error, 'string')
    && typeof f.modules === 'object' && f.modules !== null && typeof f.modules.moduleList === 'string'
    && typeof f.modules.moduleVersions === 'object' && f.modules.moduleVersions !== null
    && Object.values(f.modules.moduleVersions).every((v) => typeof v === 'string');
}

/** Forget cached git facts (a long-running process that commits between writes). */
export function clearProvenanceCache(): void {
  gitFactsCache.clear();
  moduleFactsCache = undefined;
}

async function readGitFacts(dir: string): Promise<GitFacts> {
  try {
    // Loaded with the first write: readers (and `isfdb ls`) never need git.
    const { simpleGit } = await import('simple-git');
    const git = simpleGit({ baseDir: dir });
    // Two git processes, at once: a writer (db.run's coordinator, say) waits for them, and each
    // costs its parent a fork (~11 ms of a 200 MB process's main thread here). `status` gives the
    // commit and the changes together.
    const [version, status] = await Promise.all([
      git.raw(['describe', '--tags', '--dirty', '--always', '--long', '--all']),
      // Like `git describe --dirty`: changes to tracked files count, untracked files do not.
      git.raw(['status', '--porcelain=v2', '--branch', '--untracked-files=no']),
    ]);
    const lines = status.split('\n').filter((line) => line !== '');
    const revision = lines.find((line) => line.startsWith('# branch.oid '))?.slice('# branch.oid '.length).trim();
    if (revision === undefined || !/^[0-9a-f]{40,64}$/.test(revision)) throw new Error(`git status names no commit (${revision ?? 'no branch.oid line'})`);
    return { version: version.trim(), 'full-revisionid': revision, dirty: lines.some((line) => !line.startsWith('#')), error: null };
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err);
    return { version: null, 'full-revisionid': null, dirty: null, error: `no git facts for ${dir}: ${message}` };
  }
}

export interface ModuleFacts {
  moduleList: string;
  moduleVersions: Record<string, string>;
}

let moduleFactsCache: Promise<ModuleFacts> | undefined;

/** Versions of Node, this library and its resolved dependencies. */
export function moduleFacts(): Promise<ModuleFacts> {
  moduleFactsCache ??= readModuleFacts();
  return moduleFactsCache;
}

async function readModuleFacts(): Promise<ModuleFacts> {
  const ownPackage = await findOwnPackageJson();
  const versions: Record<string, string> = { node: process.versions.node };
  if (ownPackage !== undefined) {
    versions[ownPackage.json.name ?? 'isf-data-base'] = ownPackage.json.version ?? 'unknown';
    const require = createRequire(ownPackage.file);
    for (const name of Object.keys(ownPackage.json.dependencies ?? {}).sort()) {
      versions[name] = (await resolvedVersion(require, ownPackage.file, name)) ?? 'unresolved';
    }
  }
  const moduleList = Object.entries(versions).map(([name, version]) => `${name}@${version}`).join('\n');
  return { moduleList, moduleVersions: versions };
}

interface PackageJson { name?: string; version?: string; dependencies?: Record<string, string> }

async function findOwnPackageJson(): Promise<{ file: string; json: PackageJson } | undefined> {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    try {
      const json = JSON.parse(await fs.readFile(file, 'utf8')) as PackageJson;
      if (json.name === 'isf-data-base') return { file, json };
    } catch {
      // keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The installed version of a dependency, found by walking node_modules (exports maps hide package.json). */
async function resolvedVersion(require: NodeRequire, fromFile: string, name: string): Promise<string | undefined> {
  for (const dir of require.resolve.paths(name) ?? [path.dirname(fromFile)]) {
    try {
      const json = JSON.parse(await fs.readFile(path.join(dir, name, 'package.json'), 'utf8')) as PackageJson;
      return json.version;
    } catch {
      // not in this node_modules
    }
  }
  return undefined;
}

/** Python's `datetime.utcnow().timetuple()`: [Y, M, D, h, m, s, weekday (Mon=0), yearday, -1]. */
export function utcTimeTuple(date: Date): number[] {
  const startOfYear = Date.UTC(date.getUTCFullYear(), 0, 1);
  const yearDay = Math.floor((Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) - startOfYear) / 86_400_000) + 1;
  return [
    date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(),
    date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(),
    (date.getUTCDay() + 6) % 7, yearDay, -1,
  ];
}

export interface ProvenanceOptions {
  /** Folder inside the git checkout of the writing code; defaults to the working directory. */
  gitDir?: string;
}

/** A complete metadata.json for a key written now by `dumper`, fields in ISF's order. */
export async function buildMetadata(dumper: string, options: ProvenanceOptions = {}): Promise<MetadataJson> {
  const [git, modules] = await Promise.all([gitFacts(options.gitDir ?? process.cwd()), moduleFacts()]);
  return {
    dumper,
    time: utcTimeTuple(new Date()),
    module_list: modules.moduleList,
    module_versions: modules.moduleVersions,
    history: process.argv.join(' '),
    hostname: os.hostname().trim(),
    metadata_creation_time: 'together_with_new_key',
    version: git.version,
    'full-revisionid': git['full-revisionid'],
    dirty: git.dirty,
    error: git.error,
  };
}

/** ISF's "post hoc" metadata for a key folder that has none. */
export function postHocMetadata(dumper: string, folderMtime: Date): MetadataJson {
  return { dumper, time: utcTimeTuple(folderMtime), metadata_creation_time: 'post_hoc', version: 'unknown' };
}

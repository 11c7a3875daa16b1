/** metadata.json's provenance: git facts of the writing code, read ahead, and handed on to worker processes. */
import { execFileSync } from 'node:child_process';
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase, clearProvenanceCache, isDataBaseError } from '../../src/index.js';
import { caught, cleanupTemp, makeTemp, sandbox, type Sandbox } from './helpers.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await sandbox();
  clearProvenanceCache();
});
afterEach(cleanupTemp);

function read(file: string): string {
  return fsSync.readFileSync(file, 'utf8');
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=test@example.org', '-c', 'user.name=test', '-c', 'init.defaultBranch=master', ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(cwd) },
  }).trim();
}

async function gitRepo(): Promise<string> {
  const repo = await makeTemp('isfdb-git-');
  git(repo, 'init', '-q');
  await fs.writeFile(path.join(repo, 'pipeline.py'), 'print("simulate")\n');
  git(repo, 'add', 'pipeline.py');
  git(repo, 'commit', '-q', '-m', 'first');
  return repo;
}

describe('metadata.json provenance', () => {
  it('outside a git checkout: version, full-revisionid and dirty are null and error says why', async () => {
    const nogit = await makeTemp('isfdb-nogit-');
    const db = await DataBase.open(path.join(sb.root, 'db'), { gitDir: nogit });
    await db.set('k', 1);
    const meta = JSON.parse(read(path.join(db.basedir, 'k', 'metadata.json'))) as Record<string, unknown>;
    expect(meta['version']).toBeNull();
    expect(meta['full-revisionid']).toBeNull();
    expect(meta['dirty']).toBeNull();
    expect(typeof meta['error']).toBe('string');
    expect(meta['error']).toContain(nogit);
  });

  it('in a checkout without a commit yet: the same null facts, and error says why', async () => {
    const empty = await makeTemp('isfdb-git-empty-');
    git(empty, 'init', '-q');
    const db = await DataBase.open(path.join(sb.root, 'db-empty'), { gitDir: empty });
    await db.set('k', 1);
    const meta = JSON.parse(read(path.join(db.basedir, 'k', 'metadata.json'))) as Record<string, unknown>;
    expect([meta['version'], meta['full-revisionid'], meta['dirty']]).toEqual([null, null, null]);
    expect(meta['error']).toContain(empty);
  });

  it('inside a git checkout: version, full-revisionid and dirty are right, and dirty flips when a tracked file changes', async () => {
    const repo = await gitRepo();
    const db = await DataBase.open(path.join(sb.root, 'db'), { gitDir: repo });
    await db.set('clean', 1);
    const clean = JSON.parse(read(path.join(db.basedir, 'clean', 'metadata.json'))) as Record<string, unknown>;
    expect(clean['full-revisionid']).toBe(git(repo, 'rev-parse', 'HEAD'));
    expect(clean['full-revisionid']).toMatch(/^[0-9a-f]{40}$/);
    expect(clean['version']).toBe(git(repo, 'describe', '--tags', '--dirty', '--always', '--long', '--all'));
    expect(clean['version']).toMatch(/^heads\/master/);
    expect(clean['dirty']).toBe(false);
    expect(clean['error']).toBeNull();

    await fs.appendFile(path.join(repo, 'pipeline.py'), 'print("changed")\n');
    clearProvenanceCache();
    await db.set('dirty', 1);
    const dirty = JSON.parse(read(path.join(db.basedir, 'dirty', 'metadata.json'))) as Record<string, unknown>;
    expect(dirty['dirty']).toBe(true);
    expect(dirty['version']).toBe(git(repo, 'describe', '--tags', '--dirty', '--always', '--long', '--all'));
    expect(String(dirty['version'])).toMatch(/-dirty$/);
    expect(dirty['full-revisionid']).toBe(clean['full-revisionid']);

    git(repo, 'commit', '-q', '-am', 'second');
    git(repo, 'tag', 'v1.0');
    clearProvenanceCache();
    await db.set('tagged', 1);
    const tagged = JSON.parse(read(path.join(db.basedir, 'tagged', 'metadata.json'))) as Record<string, unknown>;
    expect(tagged['dirty']).toBe(false);
    expect(tagged['full-revisionid']).toBe(git(repo, 'rev-parse', 'HEAD'));
    expect(tagged['full-revisionid']).not.toBe(clean['full-revisionid']);
    expect(tagged['version']).toBe(git(repo, 'describe', '--tags', '--dirty', '--always', '--long', '--all'));
  });

  it('prepareWrites reads the git facts ahead: a write after it records the facts as they were then, from the cache', async () => {
    const repo = await gitRepo();
    clearProvenanceCache();
    const db = await DataBase.open(path.join(sb.root, 'db'), { gitDir: repo });
    await db.prepareWrites();
    await fs.appendFile(path.join(repo, 'pipeline.py'), 'print("changed after prepareWrites")\n');
    await db.set('k', 1);
    const meta = JSON.parse(read(path.join(db.basedir, 'k', 'metadata.json'))) as Record<string, unknown>;
    expect(meta['dirty']).toBe(false);
    expect(meta['full-revisionid']).toBe(git(repo, 'rev-parse', 'HEAD'));
    clearProvenanceCache();
    await db.set('k2', 1);
    const fresh = JSON.parse(read(path.join(db.basedir, 'k2', 'metadata.json'))) as Record<string, unknown>;
    expect(fresh['dirty']).toBe(true);
  });

  it('a process given the provenance facts of the one that started it (the provenance open option) records them, and refuses malformed ones', async () => {
    const repo = await gitRepo();
    clearProvenanceCache();
    const parent = await DataBase.open(path.join(sb.root, 'db'), { gitDir: repo });
    const facts = (await parent.prepareWrites())!;
    expect(facts).toMatchObject({ dir: path.resolve(repo), git: { dirty: false, 'full-revisionid': git(repo, 'rev-parse', 'HEAD') } });
    expect(facts.modules.moduleVersions['node']).toBe(process.versions.node);
    // As a worker process starts: nothing cached yet, the facts handed on.
    clearProvenanceCache();
    await fs.appendFile(path.join(repo, 'pipeline.py'), 'print("changed: git would now say dirty")\n');
    const handedOn = { ...facts, modules: { moduleList: 'handed-on@1', moduleVersions: { 'handed-on': '1' } } };
    const child = await DataBase.open(path.join(sb.root, 'db'), { gitDir: repo, provenance: handedOn });
    await child.set('k', 1);
    const meta = JSON.parse(read(path.join(child.basedir, 'k', 'metadata.json'))) as Record<string, unknown>;
    expect(meta['dirty']).toBe(false);
    expect(meta['module_list']).toBe('handed-on@1');
    // Facts this process read itself win over facts handed on later.
    const other = { ...facts, git: { ...facts.git, version: 'not-this-one' } };
    await (await DataBase.open(path.join(sb.root, 'db'), { gitDir: repo, provenance: other })).set('k2', 1);
    expect(JSON.parse(read(path.join(child.basedir, 'k2', 'metadata.json')))['version']).toBe(facts.git.version);
    for (const bad of [{}, { ...facts, dir: 'relative/dir' }, { ...facts, git: { ...facts.git, dirty: 'no' } }, { ...facts, modules: { moduleList: 1 } }]) {
      const err = await caught(() => DataBase.open(path.join(sb.root, 'db'), { provenance: bad as never }));
      expect(isDataBaseError(err, 'InvalidInputError'), JSON.stringify(bad)).toBe(true);
      expect(err.message).toContain('provenance open option');
    }
  });

  it('dirty agrees with the -dirty suffix of version (an untracked file is not a change, as for ISF\'s git describe --dirty)', async () => {
    const repo = await gitRepo();
    await fs.writeFile(path.join(repo, 'untracked-output.txt'), 'results');
    const db = await DataBase.open(path.join(sb.root, 'db'), { gitDir: repo });
    await db.set('k', 1);
    const meta = JSON.parse(read(path.join(db.basedir, 'k', 'metadata.json'))) as Record<string, unknown>;
    expect(meta['version']).toBe(git(repo, 'describe', '--tags', '--dirty', '--always', '--long', '--all'));
    expect(String(meta['version']).endsWith('-dirty')).toBe(false);
    expect(meta['dirty']).toBe(false);
  });
});

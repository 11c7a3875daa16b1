/**
 * The public surface, snapshotted inline: a change to src/index.ts's exports must come with a
 * deliberate change of these lists.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import { repoRoot } from './helpers.js';

const VALUE_EXPORTS = [
  'CorruptKeyError', 'DataBase', 'DataBaseError', 'DataBaseNotFoundError', 'FileSystemError', 'HISTORY_FOLDER', 'INFORMATIONAL_FINDINGS',
  'InvalidInputError', 'InvalidKeyError', 'InvalidPathError', 'KeyNotFoundError', 'KeyTypeConflictError', 'LoaderError',
  'LockTimeoutError', 'NotADataBaseError', 'RECIPE_FIELD', 'ReadonlyError', 'Registry', 'UnknownLoaderError',
  'UnsupportedFormatError', 'VersionNotFoundError', 'ParquetFormatError', 'FrameError', 'UsageError', 'QueryError', 'DuplicateResultError',
  'canonicalJson', 'clearProvenanceCache', 'describeFinding',
  'describeFsckFinding', 'enclosingDataBase', 'fileSystemErrorOf', 'formatKey', 'fsckDataBase', 'getLoader',
  'isDataBaseError', 'isErrorFinding', 'listLoaders', 'registerLoader', 'resolvePath',
  'unregisterLoader', 'verifyDataBase',
  // deprecated spellings, kept as aliases of the names above
  'DatabaseNotFoundError', 'NotADatabaseError', 'enclosingDatabase', 'fsckDatabase', 'verifyDatabase',
  // lazy entry points of isf-data-base/simrun (src/lazy.ts)
  'generateCampaign', 'initSimrun',
];

/** Old spellings of Database, kept as deprecated aliases: old name -> the name it is now. */
const DEPRECATED_ALIASES: Record<string, string> = {
  DatabaseNotFoundError: 'DataBaseNotFoundError', NotADatabaseError: 'NotADataBaseError',
  enclosingDatabase: 'enclosingDataBase', fsckDatabase: 'fsckDataBase', verifyDatabase: 'verifyDataBase',
};

/** isf-data-base/frames (src/frames.ts): data-frame helpers and the lazy partitioned frame. */
const FRAMES_EXPORTS = [
  'PartitionedFrame', 'WideDoublePartitions', 'columnLabelTypes', 'columnLabels', 'daskLayoutFiles', 'dataColumnsOf', 'frameIndexOf',
  'indexColumnOf', 'pandasMetadataOf', 'partitionFileName', 'withColumnLabelTypes', 'withIndex',
];

/** isf-data-base/server (src/server/index.ts). */
const SERVER_EXPORTS = ['ServeOptionsError', 'defaultAssetsDir', 'isLoopbackHost', 'parseRange', 'startServer', 'tokenMatches'];

/** isf-data-base/simrun (src/simrun.ts). */
const SIMRUN_EXPORTS = ['PyTuple', 'addDendriticSpikeTimes', 'addDendriticVoltageTraces', 'generateCampaign', 'initSimrun', 'parsePyLiteral', 'startSimrunWorker', 'toPyLiteral'];

const RUNS_EXPORTS = [
  'RECORD_STATUSES', 'RUNS_KEY', 'defineStep', 'isStep', 'lastRecords', 'loadStep', 'loadSteps', 'recordEvents', 'recordId',
  'runStep', 'startQueueWorkers', 'statusRows', 'statusTable', 'summarize',
];

const TYPE_EXPORTS = [
  'CampaignSummary', 'Cell', 'CellSection', 'CellSynapse', 'DataBaseErrorTag', 'DbStateJson', 'FieldDifference',
  'FsckFinding', 'FsckFindingKind', 'FsckOptions', 'FsckRepair', 'FsckReport', 'GenerateCampaignOptions',
  'InitSimrunOptions', 'InitSimrunReport', 'Key', 'KeyInfo', 'Loader', 'LoaderContext', 'LoaderJson',
  'MaybeCalculateOptions', 'MetadataJson', 'NdArray', 'NdArrayDType', 'OpenOptions', 'OptimizeCompression', 'OptimizeOptions', 'OptimizeResult', 'ProgressEvent', 'PyValue',
  'RecipeJson', 'RecipeOptions', 'RegistryEntry', 'ResolveOptions', 'StaleKey', 'StaleReason', 'TypedArray',
  'VerifyFinding', 'VerifyFindingKind', 'VerifyReport', 'VersionDiff', 'VersionInfo', 'VersionRef', 'WriteOptions',
  'FrameDumpOptions', 'FrameIndex', 'FrameLoadOptions', 'IndexRange', 'LabelType', 'PartitionReadOptions',
  'SetManyEntry', 'KeyLocks', 'HeldLock', 'LockOptions', 'ProvenanceFacts',
];

/** Names in `export type { ... }` clauses of src/index.ts (syntax only). */
function typeOnlyExportNames(): string[] {
  const file = path.join(repoRoot, 'src', 'index.ts');
  const source = ts.createSourceFile(file, fsSync.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const names: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement) || statement.exportClause === undefined || !ts.isNamedExports(statement.exportClause)) continue;
    for (const element of statement.exportClause.elements) {
      if (statement.isTypeOnly || element.isTypeOnly) names.push(element.name.text);
    }
  }
  return names.sort();
}

describe('public API of src/index.ts', () => {
  it('exports exactly these runtime names', () => {
    expect(Object.keys(api).sort()).toEqual([...VALUE_EXPORTS].sort());
  });

  it('the subpaths isf-data-base/frames, /simrun, /runs and /server export exactly these names, declared in package.json', async () => {
    expect(Object.keys(await import('../../src/frames.js')).sort()).toEqual([...FRAMES_EXPORTS].sort());
    expect(Object.keys(await import('../../src/simrun.js')).sort()).toEqual([...SIMRUN_EXPORTS].sort());
    const pkg = JSON.parse(fsSync.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
    expect(Object.keys(await import('../../src/runs/index.js')).sort()).toEqual([...RUNS_EXPORTS].sort());
    expect(Object.keys(await import('../../src/server/index.js')).sort()).toEqual([...SERVER_EXPORTS].sort());
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './analyses', './frames', './query', './runs', './server', './simrun']);
    expect(pkg.exports['./server']!.default).toBe('./dist/src/server/index.js');
    expect(pkg.exports['./runs']!.default).toBe('./dist/src/runs/index.js');
    expect(pkg.exports['./frames']!.default).toBe('./dist/src/frames.js');
    expect(pkg.exports['./simrun']!.default).toBe('./dist/src/simrun.js');
  });

  it('exports exactly these type names', () => {
    expect(typeOnlyExportNames()).toEqual([...TYPE_EXPORTS].sort());
  });

  it('one spelling of DataBase: the old names are the very same values as the new ones', () => {
    const all = api as Record<string, unknown>;
    for (const [old, now] of Object.entries(DEPRECATED_ALIASES)) expect(all[old], old).toBe(all[now]);
    const exported = Object.keys(api).filter((n) => !(n in DEPRECATED_ALIASES));
    expect(exported.filter((n) => /Database/.test(n))).toEqual([]);
    expect(api.isDataBaseError(new api.NotADataBaseError('/x', 'r'), 'NotADatabaseError')).toBe(true);
  });

  it('every error class is a DataBaseError with a _tag equal to its name', () => {
    const errors = VALUE_EXPORTS.filter((n) => /^[A-Z]\w*Error$/.test(n) && n !== 'DataBaseError' && !(n in DEPRECATED_ALIASES));
    expect(errors.length).toBeGreaterThanOrEqual(13);
    for (const name of errors) {
      const Ctor = (api as Record<string, unknown>)[name] as new (...args: unknown[]) => api.DataBaseError;
      const instance = new Ctor('a', 'b', 'load', []);
      expect(instance, name).toBeInstanceOf(api.DataBaseError);
      expect(instance._tag, name).toBe(name);
      expect(instance.name, name).toBe(name);
      expect(api.isDataBaseError(instance), name).toBe(true);
    }
    const sample = new api.KeyNotFoundError('k', '/db');
    expect(sample._tag).toBe('KeyNotFoundError');
    expect(sample.name).toBe('KeyNotFoundError');
    expect(api.isDataBaseError(sample, 'KeyNotFoundError')).toBe(true);
    expect(api.isDataBaseError(sample, 'ReadonlyError')).toBe(false);
    expect(api.isDataBaseError(new Error('x'))).toBe(false);
  });
});

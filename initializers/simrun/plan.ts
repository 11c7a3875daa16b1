/**
 * The plan of an initSimrun, made before anything is written: the run folders of the campaign
 * (scan), their parameter files and the files those name (with the path map applied), and the
 * check pass over every file's shape and completeness. A folder that cannot be imported is an
 * error naming run folder, file and line, or, with `recordFailedRuns`, a `failed_runs` entry.
 */
import { InvalidInputError } from '../../src/errors.js';
import { InputProblemError, type InputProblem } from './parse-csv.js';
import type { CheckResult } from './parse-folder.js';
import { type MissingReference, type ParamScan, type PathMap, scanParams } from './params.js';
import type { FolderParser } from './pool.js';
import { type Campaign, type RunFolder, scanCampaign } from './scan.js';

export interface FailedRun { folder: string; file: string; line?: number; reason: string }

export interface SimrunPlan {
  campaign: Campaign;
  /** the run folders to import, in trial-id order */
  folders: RunFolder[];
  failed: FailedRun[];
  paramScan?: ParamScan;
  /** referenced files still missing after the path map (folders naming them are in `failed`) */
  missing: MissingReference[];
}

export function toInvalidInput(e: unknown): unknown {
  if (e instanceof InputProblemError) return new InvalidInputError(e.problem.file, e.problem.reason, e.problem.line);
  return e;
}

/** A loader wraps the iterable's error as its cause: find our input problem inside. */
export function unwrapInputProblem(e: unknown): unknown {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur !== undefined; depth++) {
    if (cur instanceof InputProblemError || cur instanceof InvalidInputError) return cur;
    cur = cur instanceof Error ? (cur as Error & { cause?: unknown }).cause : undefined;
  }
  return e;
}

const failedRun = (folder: RunFolder, p: InputProblem): FailedRun => ({ folder: folder.rel, file: p.file, reason: p.reason, ...(p.line === undefined ? {} : { line: p.line }) });

/** `OLD=NEW` strings or an object -> the prefix pairs. */
export function normalizePathMap(map: Record<string, string> | readonly (readonly [string, string])[] | undefined): PathMap {
  if (map === undefined) return [];
  const pairs = Array.isArray(map) ? map : Object.entries(map);
  return pairs.map(([from, to]) => {
    if (from === '' || to === '') throw new InvalidInputError('pathMap', `an empty prefix in the mapping '${from}' -> '${to}'`);
    return [from, to] as [string, string];
  });
}

export async function planSimrun(rawPath: string, options: { parameterfiles: boolean; recordFailedRuns: boolean; pathMap: PathMap }): Promise<SimrunPlan> {
  let campaign: Campaign;
  try {
    campaign = await scanCampaign(rawPath);
  } catch (e) {
    throw toInvalidInput(e);
  }
  if (campaign.folders.length === 0) {
    throw new InvalidInputError(campaign.root, 'no run folder found (no *_vm_all_traces.csv or *_vm_all_traces.npz outside _running folders): not a simulation campaign');
  }
  const failed: FailedRun[] = [];
  let folders: RunFolder[] = [];
  for (const f of campaign.folders) {
    if (!f.problem) folders.push(f);
    else if (options.recordFailedRuns) failed.push(failedRun(f, f.problem));
    else throw toInvalidInput(new InputProblemError(f.problem));
  }
  let paramScan: ParamScan | undefined;
  if (options.parameterfiles && folders.length > 0) {
    paramScan = await scanParams(folders, options.recordFailedRuns, options.pathMap).catch((e) => { throw toInvalidInput(e); });
    const bad = new Set(paramScan.failed.map((f) => f.folder.rel));
    folders = folders.filter((f) => !bad.has(f.rel));
    for (const f of paramScan.failed) failed.push(failedRun(f.folder, f.problem));
  }
  noneLeft(campaign, folders, failed);
  return { campaign, folders, failed, missing: paramScan?.missing ?? [], ...(paramScan ? { paramScan } : {}) };
}

function noneLeft(campaign: Campaign, folders: RunFolder[], failed: FailedRun[]): void {
  if (folders.length === 0) throw new InvalidInputError(campaign.root, `every run folder failed (${failed.length}); the first: ${failed[0]?.file ?? ''}${failed[0]?.line === undefined ? '' : `:${failed[0].line}`}: ${failed[0]?.reason ?? ''}`);
}

/**
 * The check pass over the folders to parse: shapes and completeness, no parsing. Folders that
 * fail it are dropped from `plan.folders` into `plan.failed` (with recordFailedRuns) or throw.
 */
export async function checkFolders(plan: SimrunPlan, toCheck: RunFolder[], pool: FolderParser, recordFailedRuns: boolean): Promise<CheckResult[]> {
  const settled = await Promise.allSettled(toCheck.map((f) => pool.check(f)));
  const checks: CheckResult[] = [];
  const dropped = new Set<string>();
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') { checks.push(s.value); return; }
    if (!(s.reason instanceof InputProblemError)) throw s.reason;
    if (!recordFailedRuns) throw toInvalidInput(s.reason);
    const folder = toCheck[i]!;
    plan.failed.push(failedRun(folder, s.reason.problem));
    dropped.add(folder.rel);
  });
  if (dropped.size > 0) {
    plan.folders = plan.folders.filter((f) => !dropped.has(f.rel));
    noneLeft(plan.campaign, plan.folders, plan.failed);
  }
  return checks;
}

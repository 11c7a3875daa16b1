/**
 * How worker processes open the database and find the step: by folder and open options (plain
 * JSON), and by the module that defines the step. Each process keeps what it opened.
 */
import { DataBase, InvalidInputError, type OpenOptions } from '../index.js';
import { loadSteps, type Step } from './step.js';

/** The open options a worker process gets: everything but objects that cannot cross a process. */
export type WorkerOpenOptions = Omit<OpenOptions, 'registry' | 'readonly' | 'nocreate'>;

/** The variable naming what a pool worker opens as it starts (see pool-worker.ts). */
export const WARMUP_ENV = 'ISFDB_RUNS_WARMUP';
/** The variable holding the coordinator's provenance facts (the `provenance` open option), once per process rather than in every task. */
export const PROVENANCE_ENV = 'ISFDB_RUNS_PROVENANCE';

/** The facts handed on by the coordinator, when it did. */
function handedOnProvenance(): Pick<OpenOptions, 'provenance'> {
  const text = process.env[PROVENANCE_ENV];
  if (text === undefined) return {};
  try {
    return { provenance: JSON.parse(text) as OpenOptions['provenance'] };
  } catch {
    throw InvalidInputError.value(`$${PROVENANCE_ENV}`, 'is not JSON (it is set by db.run for its worker processes)');
  }
}

const databases = new Map<string, Promise<DataBase>>();
const modules = new Map<string, Promise<Step[]>>();

export function openCached(dir: string, options: WorkerOpenOptions): Promise<DataBase> {
  const id = `${dir}\0${JSON.stringify(options)}`;
  let db = databases.get(id);
  if (db === undefined) {
    db = DataBase.open(dir, { ...options, ...handedOnProvenance(), nocreate: true });
    // The first commit's provenance is read while the first record computes, not after it (from
    // the coordinator's facts when it handed them on, else a few git processes).
    void db.then((opened) => opened.prepareWrites()).catch(() => undefined);
    db.catch(() => databases.delete(id));
    databases.set(id, db);
  }
  return db;
}

export async function stepCached(module: string, name: string): Promise<Step> {
  let steps = modules.get(module);
  if (steps === undefined) {
    steps = loadSteps(module);
    steps.catch(() => modules.delete(module));
    modules.set(module, steps);
  }
  const step = (await steps).find((s) => s.name === name);
  if (step === undefined) throw new InvalidInputError(module, `has no step '${name}'`);
  return step;
}

/**
 * The task of a local pool worker process (tinypool, child_process runtime): run one record.
 * Several tasks are in a process at once (concurrentTasksPerWorker): one computes while the
 * results before it wait for their group commit (execute.ts).
 *
 * On start, before its first task arrives, the process opens the database and imports the step
 * named by $ISFDB_RUNS_WARMUP, so that this part of its start overlaps with the coordinator
 * reading and classifying the records; so does the provenance of its first write (a few git
 * processes: openCached starts db.prepareWrites).
 */
import { executorOf, type ExecuteResult } from './execute.js';
import { openCached, stepCached, WARMUP_ENV, type WorkerOpenOptions } from './open.js';
import type { RecordValue } from './step.js';

export interface PoolTask {
  db: string;
  open: WorkerOpenOptions;
  module: string;
  step: string;
  record: RecordValue;
  attempt: number;
  force: boolean;
}

function warmUp(text: string | undefined): void {
  if (text === undefined) return;
  try {
    const task = JSON.parse(text) as Pick<PoolTask, 'db' | 'open' | 'module' | 'step'>;
    // Failures are reported by the first task, which makes the same calls.
    void Promise.all([openCached(task.db, task.open), stepCached(task.module, task.step)]).catch(() => undefined);
  } catch { /* not ours to report */ }
}
warmUp(process.env[WARMUP_ENV]);

export default async function runTask(task: PoolTask): Promise<ExecuteResult> {
  const [db, step] = await Promise.all([openCached(task.db, task.open), stepCached(task.module, task.step)]);
  return executorOf(db).execute(step, task.record, { attempt: task.attempt, force: task.force });
}

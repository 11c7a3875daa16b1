/**
 * The task of a local pool worker process (tinypool, child_process runtime): run one record.
 * Several tasks are in a process at once (concurrentTasksPerWorker): one computes while the
 * results before it wait for their group commit (execute.ts).
 */
import { executorOf, type ExecuteResult } from './execute.js';
import { openCached, stepCached, type WorkerOpenOptions } from './open.js';
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

export default async function runTask(task: PoolTask): Promise<ExecuteResult> {
  const [db, step] = await Promise.all([openCached(task.db, task.open), stepCached(task.module, task.step)]);
  return executorOf(db).execute(step, task.record, { attempt: task.attempt, force: task.force });
}

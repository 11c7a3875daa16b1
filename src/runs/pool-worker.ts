/** The task of a local pool worker process (tinypool, child_process runtime): run one record. */
import { executeRecord, type ExecuteResult } from './record.js';
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
  return executeRecord(db, step, task.record, { attempt: task.attempt, force: task.force });
}

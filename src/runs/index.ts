/**
 * isf-data-base/runs: steps run per record over a pool of processes or a BullMQ queue, with a
 * status per record kept in the database.
 *
 * @example
 * ```ts
 * import { DataBase } from 'isf-data-base';
 * import { defineStep } from 'isf-data-base/runs';
 * export const spikes = defineStep({
 *   name: 'spike_count',
 *   inputs: (trial: string) => [['vt', trial]],
 *   output: (trial) => ['spike_count', trial],
 *   run: async (trial, ctx) => countSpikes(await ctx.input(0)),
 * });
 * const db = await DataBase.open('./results');
 * await db.run(spikes, { records: 'sim_trial_index', workers: 4 });
 * console.log((await db.status('spike_count')).toArray());
 * ```
 */
export { defineStep, isStep, loadStep, loadSteps, recordId } from './step.js';
import type { Step } from './step.js';
export type { Step, StepDefinition, StepContext, RecordValue, InputKeys } from './step.js';
export { runStep } from './runner.js';
export type { RunOptions, RunProgress, RunReport } from './runner.js';
export { lastRecords, statusRows, statusTable, summarize } from './status.js';
export type { StatusRow } from './status.js';
export { RECORD_STATUSES } from './record.js';
export type { RecordStatus, RecordState } from './record.js';
export { RUNS_KEY } from './events.js';
export { recordEvents } from './event-read.js';
export type { RunEvent } from './events.js';
export type { RecordsSpec } from './records.js';
export type { WorkerOpenOptions } from './open.js';
export type { QueueOptions, WorkerOptions } from './queue.js';

/** Process the queues of `steps` (see queue.ts); bullmq and ioredis load only here. */
export async function startQueueWorkers(steps: readonly Step[], options: import('./queue.js').WorkerOptions): Promise<{ close(): Promise<void>; ready(): Promise<void> }> {
  const { startWorkers } = await import('./queue.js');
  return startWorkers(steps, options);
}

/**
 * `isf-data-base/simrun`: build databases from raw simulation campaigns (initSimrun), generate
 * synthetic campaigns, and read and write ISF's Python-literal parameter values. A subpath of its
 * own so that `import 'isf-data-base'` does not load the parsers, the worker pool and the codec.
 *
 * @example
 * ```ts
 * import { DataBase } from 'isf-data-base';
 * import { initSimrun } from 'isf-data-base/simrun';
 * const report = await initSimrun('/scratch/C2_evoked', await DataBase.open('./C2.db'), { workers: 4 });
 * ```
 */
export { initSimrun, addDendriticVoltageTraces, addDendriticSpikeTimes, generateCampaign, parsePyLiteral, toPyLiteral, PyTuple } from '../initializers/index.js';
export type { InitSimrunOptions, InitSimrunReport, AddDendriticVoltageTracesOptions, GenerateCampaignOptions, CampaignSummary, ProgressEvent, PyValue } from '../initializers/index.js';

/**
 * Serve initSimrun(raw, db, { redis }) coordinators: parse and encode run folders from the queue
 * (initializers/simrun/distributed.ts). bullmq and ioredis load only here.
 */
export async function startSimrunWorker(options: import('../initializers/simrun/distributed.js').SimrunQueueOptions & { concurrency?: number }): Promise<{ ready(): Promise<void>; close(): Promise<void> }> {
  return (await import('../initializers/simrun/distributed.js')).startSimrunWorker(options);
}
export type { SimrunQueueOptions } from '../initializers/simrun/distributed.js';

/**
 * Initializers: build databases from raw simulation output. Clients of the public API only.
 */
export { initSimrun } from './simrun/init-simrun.js';
export type { InitSimrunOptions, InitSimrunReport } from './simrun/init-simrun.js';
export { addDendriticVoltageTraces, addDendriticSpikeTimes } from './simrun/add-dendritic.js';
export type { AddDendriticVoltageTracesOptions } from './simrun/add-dendritic.js';
export { generateCampaign } from './simrun/generate.js';
export type { GenerateCampaignOptions, CampaignSummary } from './simrun/generate.js';
export type { ProgressEvent } from './simrun/progress.js';
export { parsePyLiteral, toPyLiteral, PyTuple } from './simrun/param-file.js';
export type { PyValue } from './simrun/param-file.js';

/**
 * `isf-data-base/analyses`: ISF's standard analyses (data_base.analyze, db_initializers.
 * synapse_activation_binning) over stored frames, each also runnable cached as a key.
 *
 * @example
 * ```ts
 * import { spikeDetection, temporalBinning, temporalBinningCached } from 'isf-data-base/analyses';
 * const st = await spikeDetection(await db.get('voltage_traces'), { threshold: 0 });
 * const { borders, counts } = await temporalBinning(st, { binSize: 1, minTime: 0, maxTime: 300 });
 * await temporalBinningCached(db, { output: 'psth' }, { binSize: 1 });  // computed once, then read
 * ```
 */
export { spikeDetection, spikeInInterval, spikeFrame, timeList } from './spikes.js';
export type { SpikeDetectionOptions } from './spikes.js';
export { temporalBinning, binTimes, spatiotemporalBinning, voltageDensity } from './binning.js';
export type { TemporalBinning, TemporalBinningOptions, SpatiotemporalBinningOptions, VoltageDensityOptions } from './binning.js';
export { synapseActivationBinning, binSynapseActivation, binnedKey, EXCITATORY, DERIVED_GROUPS } from './synapse-binning.js';
export type { SynapseBinning, SynapseBinningOptions } from './synapse-binning.js';
export {
  ANALYSES_VERSION, spikeDetectionCached, spikeInIntervalCached, temporalBinningCached, spatiotemporalBinningCached,
  voltageDensityCached, synapseActivationBinningCached,
} from './cached.js';
export { arange, Histogram } from './numpy.js';
export type { FrameInput } from './frames.js';

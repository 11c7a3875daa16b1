/**
 * Entry points of the heavy subpaths, kept in the root API for convenience: each loads its
 * module (`isf-data-base/simrun`) on the first call, so `import 'isf-data-base'` stays light.
 */
type Simrun = typeof import('./simrun.js');

/** initSimrun of `isf-data-base/simrun`, loaded on first use. */
export async function initSimrun(...args: Parameters<Simrun['initSimrun']>): ReturnType<Simrun['initSimrun']> {
  return (await import('./simrun.js')).initSimrun(...args);
}

/** generateCampaign of `isf-data-base/simrun`, loaded on first use. */
export async function generateCampaign(...args: Parameters<Simrun['generateCampaign']>): ReturnType<Simrun['generateCampaign']> {
  return (await import('./simrun.js')).generateCampaign(...args);
}

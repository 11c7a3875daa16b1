/**
 * The analyses over frames of more rows than a function call takes arguments (~125,000): ISF's
 * spike_times and synapse_activation are single frames of every trial of a campaign.
 */
import { tableFromArrays } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { binSynapseActivation, spikeDetection, spikeInInterval } from '../../src/analyses/index.js';
import { withIndex } from '../../src/frames.js';

const ROWS = 200_000;
const ids = Array.from({ length: ROWS }, (_, r) => `trial_${String(r).padStart(6, '0')}`);

describe('analyses over 200,000 rows', { timeout: 60_000 }, () => {
  it('spikeInInterval: a flag per trial, in order', async () => {
    // Trial r spikes at r mod 100 ms: in [10, 20) exactly when r mod 100 is 10..19.
    const frame = withIndex(tableFromArrays({ sim_trial_index: ids, '0': Float64Array.from(ids, (_, r) => r % 100) }), 'sim_trial_index');
    const out = await spikeInInterval(frame, 10, 20);
    expect(out.numRows).toBe(ROWS);
    expect(out.getChild('sim_trial_index')!.get(ROWS - 1)).toBe(ids[ROWS - 1]);
    const flags = out.getChild('spike_in_interval')!.toArray() as ArrayLike<boolean>;
    let spiked = 0;
    for (let r = 0; r < ROWS; r++) if (flags[r]) spiked++;
    expect(spiked).toBe(ROWS / 10);
    expect(flags[12]).toBe(true);
    expect(flags[ROWS - 1]).toBe(false);
  });

  it('spikeDetection: a spike per trial whose trace crosses the threshold', async () => {
    // Three time points; odd trials cross 0 mV at t = 0.05.
    const frame = withIndex(tableFromArrays({
      sim_trial_index: ids,
      '0': new Float64Array(ROWS).fill(-70),
      '0.025': new Float64Array(ROWS).fill(-60),
      '0.05': Float64Array.from(ids, (_, r) => (r % 2 === 1 ? 20 : -65)),
    }), 'sim_trial_index');
    const spikes = await spikeDetection(frame);
    expect(spikes.numRows).toBe(ROWS);
    expect(spikes.getChild('sim_trial_index')!.get(ROWS - 1)).toBe(ids[ROWS - 1]);
    expect(spikes.getChild('0')!.get(ROWS - 1)).toBe(0.05);
    expect(spikes.getChild('0')!.get(ROWS - 2)).toBeNaN();
  });

  it('binSynapseActivation: one row of counts per trial', async () => {
    // One excitatory synapse per trial, active at r mod 10 ms.
    const frame = withIndex(tableFromArrays({
      sim_trial_index: ids,
      synapse_type: Array.from({ length: ROWS }, () => 'L5tt_C2'),
      synapse_ID: new Float64Array(ROWS),
      soma_distance: new Float64Array(ROWS).fill(100),
      section_ID: new Float64Array(ROWS),
      section_pt_ID: new Float64Array(ROWS),
      dendrite_label: Array.from({ length: ROWS }, () => 'basal'),
      '0': Float64Array.from(ids, (_, r) => r % 10),
    }), 'sim_trial_index');
    const { trials, groups } = await binSynapseActivation(frame, { groupby: 'EI', maxTime: 10 });
    expect(trials.length).toBe(ROWS);
    expect(trials[ROWS - 1]).toBe(ids[ROWS - 1]);
    const array = groups.get(JSON.stringify(['EXC']))!.array;
    expect(array.shape).toEqual([ROWS, 10]);
    // Row ROWS - 1 (r mod 10 = 9) counts its synapse in bin 9 and nowhere else.
    const last = Array.from(array.data.subarray((ROWS - 1) * 10, ROWS * 10) as Float64Array);
    expect(last).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });
});

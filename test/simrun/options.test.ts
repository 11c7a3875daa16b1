import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { generateCampaign, initSimrun } from '../../initializers/index.js';
import { ProgressBar } from '../../initializers/simrun/progress.js';
import { cleanup, tempDir } from './helpers.js';

function fakeStream(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({ write(chunk, _enc, cb) { out += String(chunk); cb(); } }) as unknown as NodeJS.WriteStream;
  Object.assign(w, { isTTY: tty, columns: 120 });
  return { stream: w, text: () => out };
}

describe('progress bar', () => {
  const event = { phase: 'parse' as const, folders: 3, totalFolders: 6, trials: 30, totalTrials: 60, bytes: 5e6, totalBytes: 1e7, elapsedMs: 1000 };
  it('draws folders, trials, MB/s and ETA on a terminal', () => {
    const { stream, text } = fakeStream(true);
    const bar = new ProgressBar(false, stream);
    bar.update(event, true);
    bar.finish();
    expect(text()).toMatch(/3\/6 folders 30\/60 trials 5\.0 MB\/s ETA 0:01/);
  });
  it('is silent when not a terminal, or quiet', () => {
    for (const [tty, quiet] of [[false, false], [true, true]] as const) {
      const { stream, text } = fakeStream(tty);
      const bar = new ProgressBar(quiet, stream);
      bar.update(event, true);
      bar.finish();
      expect(text()).toBe('');
    }
  });
});

describe('options', () => {
  it('dendritic spike threshold names the keys; parts switched off are not written', async () => {
    const raw = await tempDir('opt');
    const dbDir = await tempDir('opt-db');
    try {
      await generateCampaign(raw, { trials: 4, trialsPerFolder: 2, timePoints: 40, seed: 9, dendriticSites: 1 });
      const db = await DataBase.open(dbDir);
      const events: string[] = [];
      const report = await initSimrun(raw, db, { quiet: true, workers: 0, dendriticSpikeTimesThreshold: -45.5, parameterfiles: false, spikeTimes: false, core: false, onProgress: (e) => events.push(e.phase) });
      expect(report.parsing).toBe('in-thread');
      expect(report.parsingReason).toMatch(/workers: 0/);
      const keys = await db.keys();
      for (const off of ['parameterfiles', 'morphology', 'spike_times', 'metadata', 'sim_trial_index', 'filelist', 'simresult_path']) expect(keys).not.toContain(off);
      for (const on of ['voltage_traces', 'synapse_activation', 'cell_activation', 'dendritic_recordings', 'dendritic_spike_times']) expect(keys).toContain(on);
      const sub = (await db.get('dendritic_spike_times')) as DataBase;
      expect((await sub.keys()).every((k) => k.endsWith('_-45.5'))).toBe(true);
      expect(events).toContain('parse');
      expect(events[events.length - 1]).toBe('done');
    } finally {
      await cleanup(raw, dbDir);
    }
  }, 30_000);
});

import { readdirSync, statSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DataBase } from '../../src/index.js';
import { generateCampaign, initSimrun } from '../../initializers/index.js';
import { getLoader } from '../../loaders/index.js';
import type { PartitionedFrame } from '../../loaders/parquet/partitioned-frame.js';
const dir = '/tmp/actbench';
if (!readdirSync('/tmp').includes('actbench')) {
  await generateCampaign(join(dir, 'raw'), { trials: 100, trialsPerFolder: 10, timePoints: 200, seed: 9, dendriticSites: 0, synapsesPerTrial: 1500, cellsPerTrial: 800, runningFolder: false });
  const db = await DataBase.open(join(dir, 'db'));
  await initSimrun(join(dir, 'raw'), db, { quiet: true });
}
const db = await DataBase.open(join(dir, 'db'));
for (const key of ['synapse_activation', 'cell_activation']) {
  const frame = await db.get(key) as PartitionedFrame;
  const parts = [];
  for await (const p of frame) parts.push(p);
  if (key === 'synapse_activation') console.log(parts[0]!.schema.fields.slice(0, 12).map((f) => `${f.name}:${f.type}`).join(' '), parts[0]!.numRows);
  for (const opts of [{ compression: 'snappy' }, { compression: 'zstd' }, { compression: 'zstd', byteStreamSplit: true }, { compression: 'zstd', dictionary: false, byteStreamSplit: true }]) {
    const out = join(dir, 'out'); rmSync(out, { recursive: true, force: true }); mkdirSync(out);
    const loader = await getLoader('dask_to_parquet');
    await (loader as any).dump(parts, out, { key }, opts);
    const size = readdirSync(out).reduce((s, f) => s + statSync(join(out, f)).size, 0);
    console.log(key, JSON.stringify(opts), (size / 1e6).toFixed(3));
  }
}

import { tableFromArrays } from 'apache-arrow';
import { ParquetFileWriter } from '../../loaders/parquet/writer.js';
import { ParquetFileReader } from '../../loaders/parquet/reader.js';
import { statSync } from 'node:fs';
const cols: Record<string, Float64Array> = {};
for (let c = 0; c < 10000; c++) { const a = new Float64Array(10); for (let r = 0; r < 10; r++) a[r] = -65 + Math.sin(c * 0.01 + r) * 10; cols[String(c * 0.025)] = a; }
const t = tableFromArrays(cols);
for (const compression of ['zstd', 'snappy', 'uncompressed', 'zstd', 'zstd'] as const) {
  const s = performance.now();
  const w = await ParquetFileWriter.open('/tmp/wide.parquet', t.schema, { compression });
  await w.writeTable(t); await w.close();
  const ms = performance.now() - s;
  const s2 = performance.now();
  const r = await ParquetFileReader.open('/tmp/wide.parquet'); await r.read(); await r.close();
  console.log(compression, 'write ms', ms.toFixed(0), 'read ms', (performance.now() - s2).toFixed(0), 'bytes', statSync('/tmp/wide.parquet').size);
}

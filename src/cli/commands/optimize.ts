import { DataBase, UsageError, type OptimizeCompression, type OptimizeResult } from '../../index.js';
import { parseCliKey, parseCommandArgs, printJson, type CliCommand } from '../command.js';

const usage = `isfdb optimize <db> [key ...] [--compression zstd|snappy] [--json]

Rewrite frame keys (pandas_to_parquet, dask_to_parquet), including ones written by Python ISF,
into this library's Parquet encoding: dictionary/RLE where it pays, statistics, real compression.
Each key is replaced atomically (into its history when keepVersions is on), partition by
partition; its provenance stays and metadata.json's "isfdb_optimized" records the rewrite. Keys
already written by us with the requested compression are skipped.
  key             the keys to rewrite (tuple keys are written A/1/B); default: every frame key
  --compression   zstd (default) or snappy
  --json          print the results as JSON
Exit code: 0 when every key was rewritten or skipped, 1 when one failed (the key stays as it was), 2 on bad input.`;

export const command: CliCommand = {
  name: 'optimize',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { compression: { type: 'string' }, json: { type: 'boolean' } }, { min: 1, max: Infinity, names: '<db> [key ...]' });
    const compression = values['compression'] ?? 'zstd';
    if (compression !== 'zstd' && compression !== 'snappy') throw new UsageError(`--compression takes zstd or snappy, got '${String(compression)}'`);
    const db = await DataBase.open(positionals[0]!, { nocreate: true });
    const keys = positionals.length > 1 ? positionals.slice(1).map(parseCliKey) : await frameKeys(db);
    const results: OptimizeResult[] = [];
    const failures: Array<{ key: string; error: string }> = [];
    for (const key of keys) {
      try {
        const result = await db.optimize(key, { compression: compression as OptimizeCompression });
        results.push(result);
        if (!values['json']) process.stdout.write(`${describe(result, cliName(key))}\n`);
      } catch (err) {
        // One failed key stays as it was; the others are still rewritten.
        failures.push({ key: cliName(key), error: (err as Error).message });
        if (!values['json']) process.stderr.write(`failed ${(err as Error).message}\n`);
      }
    }
    if (values['json']) printJson({ results, failures });
    return failures.length === 0 ? 0 : 1;
  },
};

async function frameKeys(db: DataBase): Promise<string[][]> {
  const keys: string[][] = [];
  for (const key of await db.keys({ recurse: true })) {
    const loader = await db.loaderOf(key);
    if (loader === 'pandas_to_parquet' || loader === 'dask_to_parquet') keys.push(key);
  }
  return keys;
}

const cliName = (key: string | string[]): string => (Array.isArray(key) ? key.join('/') : key);

function describe(r: OptimizeResult, name: string): string {
  const from = `${r.compressionBefore.join('+')} by ${r.createdByBefore.join(', ')}`;
  if (r.status === 'skipped') return `skipped ${name}: already ${r.compression} by this library (${r.files} file(s), ${r.bytesBefore} bytes)`;
  const ratio = r.bytesBefore === 0 ? '' : ` (${(r.bytesAfter / r.bytesBefore).toFixed(2)}x)`;
  return `optimized ${name}: ${r.files} file(s), ${r.bytesBefore} -> ${r.bytesAfter} bytes${ratio}, ${from} -> ${r.compression}`;
}

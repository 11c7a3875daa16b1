import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { DataBase } from '../../index.js';
import { OUTPUT_FORMATS, emptyStats, queryStoredParts, resultWriter, type OutputFormat, type Where } from '../../query/index.js';
import { UsageError, parseCliKey, parseCommandArgs, type CliCommand } from '../command.js';

const usage = `isfdb query <db> <key> --where '<json>' [--columns a,b] [--format table|csv|json|parquet] [--out file] [--stats]

Print the rows of a data frame key that match a where-clause (BlueETL's dialect: see docs/query.md),
reading only the needed columns, partitions and row groups; rows stream out partition by partition.
  --where '<json>'   e.g. '{"sim_trial_index": {"regex": "C2/"}, "0": {"between": [100, 200]}}'; '{}' for all rows
  --columns a,b      data columns of the result (the index is always included)
  --format F         table (default), csv, json (one object per line) or parquet (needs --out)
  --out file         write there (atomically: a partial file is removed on failure) instead of stdout
  --stats            print the bytes, files and row groups read to stderr`;

export const command: CliCommand = {
  name: 'query',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      where: { type: 'string' }, columns: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, stats: { type: 'boolean' },
    }, { min: 2, max: 2, names: '<db> <key>' });
    const where = parseWhere(values['where']);
    const format = (values['format'] ?? 'table') as string;
    if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format takes one of ${OUTPUT_FORMATS.join(', ')}, got '${format}'`);
    const out = values['out'] as string | undefined;
    if (format === 'parquet' && out === undefined) throw new UsageError('--format parquet needs --out <file>');
    const columns = typeof values['columns'] === 'string' ? values['columns'].split(',').map((c) => c.trim()).filter((c) => c !== '') : undefined;
    const db = await DataBase.open(positionals[0]!, { readonly: true });
    const key = parseCliKey(positionals[1]!);
    const stats = emptyStats();
    const target = out === undefined ? undefined : path.resolve(out);
    const partial = target === undefined ? undefined : path.join(path.dirname(target), `.${path.basename(target)}.partial-${process.pid}`);
    let stream: WriteStream | undefined;
    const emit = (chunk: string): Promise<void> => new Promise((resolve, reject) => {
      (stream ?? process.stdout).write(chunk, (err) => (err ? reject(err) : resolve()));
    });
    let writer: Awaited<ReturnType<typeof resultWriter>> | undefined;
    try {
      let schemaSeen: Parameters<typeof resultWriter>[1] | undefined;
      const iterator = queryStoredParts(db, key, where, columns ? { columns } : {}, stats, (schema) => { schemaSeen = schema; });
      // The first step checks the where-clause and the columns: bad input fails before any file exists.
      let next = await iterator.next();
      if (partial !== undefined && format !== 'parquet') {
        stream = createWriteStream(partial);
        await once(stream, 'open');
      }
      writer = await resultWriter(format as OutputFormat, schemaSeen!, emit, format === 'parquet' ? partial : undefined);
      while (!next.done) {
        await writer.write(next.value);
        next = await iterator.next();
      }
      await writer.close();
      const opened = stream;
      if (opened) await new Promise<void>((resolve, reject) => opened.end((err?: Error | null) => (err ? reject(err) : resolve())));
      if (partial !== undefined && target !== undefined) await fs.rename(partial, target);
    } catch (err) {
      await writer?.abort().catch(() => undefined);
      if (stream && !stream.closed) {
        const closed = once(stream, 'close');
        stream.destroy();
        await closed;
      }
      if (partial !== undefined) await fs.rm(partial, { force: true });
      throw err;
    }
    if (values['stats']) {
      process.stderr.write(`read ${stats.bytesRead} bytes: ${stats.filesRead} of ${stats.filesTotal} files, ${stats.rowGroupsRead} of ${stats.rowGroupsTotal} row groups (${stats.rowGroupsSkippedByReading} skipped after reading their where-columns, ${stats.rowGroupsSkippedByStatistics} by statistics); ${stats.rowsMatched} rows matched\n`);
    }
    return 0;
  },
};

function parseWhere(text: string | boolean | undefined): Where {
  if (typeof text !== 'string') throw new UsageError("--where '<json>' is required ('{}' selects every row)");
  try {
    return JSON.parse(text) as Where;
  } catch (err) {
    throw new UsageError(`--where is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Writing a query's result as it streams in, part by part: an aligned text table, CSV (as
 * pandas' to_csv: index first, missing values empty), JSON lines, or a Parquet file that
 * pandas.read_parquet opens with its index.
 */
import type { Schema, Table } from 'apache-arrow';
import { Table as ArrowTable } from 'apache-arrow';
import { InvalidInputError } from '../errors.js';
import { ParquetFileWriter } from '../../loaders/parquet/writer.js';
import { frameForWriting, frameIndexOf } from '../../loaders/parquet/frame.js';

export const OUTPUT_FORMATS = ['table', 'csv', 'json', 'parquet'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ResultWriter {
  write(part: Table): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** Index columns first (as pandas prints a frame), then the data columns. */
function columnOrder(schema: Schema): string[] {
  const index = frameIndexOf({ schema, numRows: 0 });
  const indexColumns = index.kind === 'columns' ? index.columns : [];
  return [...indexColumns, ...schema.fields.map((f) => f.name).filter((n) => !indexColumns.includes(n))];
}

function text(value: unknown): string {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return '';
  return String(value);
}

function csvField(value: unknown): string {
  const s = text(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (value instanceof Date) return value.toISOString();
  return value ?? null;
}

/** A writer of `format` onto `out` (text formats) or into the file `file` (parquet). */
export async function resultWriter(format: OutputFormat, schema: Schema, out: (chunk: string) => Promise<void>, file?: string): Promise<ResultWriter> {
  const names = columnOrder(schema);
  const rowsOf = function* (part: Table): Generator<unknown[]> {
    const cols = names.map((n) => part.getChild(n));
    for (let i = 0; i < part.numRows; i++) yield cols.map((c) => c?.get(i) as unknown);
  };
  switch (format) {
    case 'csv': {
      await out(`${names.map(csvField).join(',')}\n`);
      return {
        write: async (part) => { let s = ''; for (const row of rowsOf(part)) s += `${row.map(csvField).join(',')}\n`; await out(s); },
        close: async () => {}, abort: async () => {},
      };
    }
    case 'json':
      return {
        write: async (part) => {
          let s = '';
          for (const row of rowsOf(part)) s += `${JSON.stringify(Object.fromEntries(names.map((n, j) => [n, jsonValue(row[j])])))}\n`;
          await out(s);
        },
        close: async () => {}, abort: async () => {},
      };
    case 'table': {
      let widths: number[] | undefined;
      const line = (cells: string[]): string => `${cells.map((c, j) => c.padStart(widths![j]!)).join('  ')}\n`;
      let headerDone = false;
      return {
        write: async (part) => {
          const rows = [...rowsOf(part)].map((r) => r.map(text));
          // Widths from the first part: the output streams, later parts may overflow their column.
          widths ??= names.map((n, j) => Math.max(n.length, ...rows.slice(0, 1000).map((r) => r[j]!.length)));
          let s = headerDone ? '' : line(names);
          headerDone = true;
          for (const r of rows) s += line(r);
          await out(s);
        },
        close: async () => { if (!headerDone) { widths = names.map((n) => n.length); await out(line(names)); } },
        abort: async () => {},
      };
    }
    case 'parquet': {
      if (file === undefined) throw InvalidInputError.value('--format parquet', 'needs --out <file>');
      const writer = await ParquetFileWriter.open(file, frameForWriting(new ArrowTable(schema)).schema);
      return {
        write: (part) => writer.writeTable(frameForWriting(part)),
        close: () => writer.close(),
        abort: () => writer.abort(),
      };
    }
  }
}

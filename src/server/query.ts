/**
 * Row selections from request parameters: trial ids (`ids=a,b`), an inclusive index range
 * (`lo`, `hi`), row positions (`start`, `stop`), or a `where` of the query dialect.
 */
import { RefusedError } from './security.js';
import { queryStored, type Where } from '../query/index.js';
import { MAX_SLICE_ROWS, type FrameSource, type RowSelection } from './frames.js';

type Query = Record<string, string | undefined>;

/** ids, then an index range, then row positions. */
export function rowSelectionOf(query: Query, positions: { start: number; stop: number }): RowSelection {
  const ids = query['ids'];
  if (ids !== undefined && ids !== '') return { kind: 'ids', ids: ids.split(',') };
  const lo = query['lo'];
  const hi = query['hi'];
  if (lo !== undefined || hi !== undefined) {
    if (lo === undefined || hi === undefined) throw new RefusedError(400, 'an index range takes both lo and hi');
    return { kind: 'range', lo, hi };
  }
  if (!Number.isInteger(positions.start) || !Number.isInteger(positions.stop) || positions.start < 0 || positions.stop < positions.start) {
    throw new RefusedError(400, `row positions must be whole numbers with 0 <= start <= stop, not ${positions.start}..${positions.stop}`);
  }
  return { kind: 'positions', ...positions };
}

/**
 * The rows matching a `where` of the query dialect (JSON: `{"column": {"op": value}}`), found by
 * `queryStored` (which reads only the where-columns and prunes partitions), as their index values.
 */
export async function whereSelection(source: FrameSource, where: string): Promise<RowSelection> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(where);
  } catch {
    throw new RefusedError(400, `where must be JSON in the query dialect, e.g. {"sim_trial_index": {"regex": "C2"}}; got ${where.slice(0, 80)}`);
  }
  const column = source.indexColumn;
  if (column === undefined) throw new RefusedError(400, `key '${source.key.join('/')}' has a range index: select its rows by start/stop`);
  const matches = await queryStored(source.db, source.key, parsed as Where, { columns: [] });
  if (matches.numRows > MAX_SLICE_ROWS) throw new RefusedError(413, `the where-clause matches ${matches.numRows} rows, at most ${MAX_SLICE_ROWS} are shown: narrow it`);
  const index = matches.getChild(column);
  return { kind: 'ids', ids: Array.from({ length: matches.numRows }, (_, r) => String(index?.get(r))) };
}

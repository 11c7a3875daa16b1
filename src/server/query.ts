/**
 * Row selections from request parameters: trial ids (`ids=a,b`), an inclusive index range
 * (`lo`, `hi`), row positions (`start`, `stop`), or a `where` expression.
 */
import { RefusedError } from './security.js';
import type { FrameSource, RowSelection } from './frames.js';

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

/** A `where` expression: the query dialect is not part of the public API yet. */
export async function whereSelection(source: FrameSource, where: string): Promise<RowSelection> {
  void source;
  throw new RefusedError(400, `'where' (${where.slice(0, 80)}) needs the query dialect, which this version does not have: select rows by ids, lo/hi or start/stop`);
}

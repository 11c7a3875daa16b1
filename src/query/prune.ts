/**
 * What a where-clause lets a reader skip without reading: partitions whose `divisions` cannot
 * hold a matching index value, and row groups whose min/max statistics exclude every match.
 * Both are conservative: a partition or row group is skipped only when no row of it can match.
 */
import type { Division } from '../../loaders/parquet/ondisk.js';
import type { NormalWhere, Scalar, Test } from './where.js';

type Bound = number | string;

/** The [lo, hi] a test confines values to (ends undefined = open), or undefined when it does not. */
function intervalsOf(test: Test): Array<[Bound | undefined, Bound | undefined]> | undefined {
  const b = (s: Scalar): Bound | undefined => (typeof s === 'bigint' ? Number(s) : typeof s === 'boolean' ? undefined : s);
  switch (test.op) {
    case 'eq': return [[b(test.operand), b(test.operand)]];
    case 'isin': return test.operand.map((v) => [b(v), b(v)] as [Bound | undefined, Bound | undefined]);
    case 'between': return [[b(test.operand[0]), b(test.operand[1])]];
    case 'ge': case 'gt': return [[b(test.operand), undefined]];
    case 'le': case 'lt': return [[undefined, b(test.operand)]];
    default: return undefined;
  }
}

/** Whether some value in [start, end] (end exclusive unless `endInclusive`) lies in one of the intervals. */
function mayOverlap(intervals: Array<[Bound | undefined, Bound | undefined]>, start: Bound, end: Bound, endInclusive: boolean): boolean {
  return intervals.some(([lo, hi]) => {
    if ((lo !== undefined && typeof lo !== typeof start) || (hi !== undefined && typeof hi !== typeof start)) return true;
    const belowEnd = lo === undefined || (endInclusive ? lo <= end : lo < end);
    const aboveStart = hi === undefined || hi >= start;
    return belowEnd && aboveStart;
  });
}

/**
 * The partitions a where-clause may need, given the partitions' divisions and which where-names
 * denote the index. Partition i holds [d_i, d_i+1), the last one [d_n-1, d_n], as dask reads them.
 */
export function partitionsToRead(where: NormalWhere, divisions: readonly Division[], isIndex: (name: string) => boolean): number[] {
  const count = divisions.length - 1;
  const all = Array.from({ length: count }, (_, i) => i);
  if (where.length === 0 || divisions.some((d) => d === null)) return all;
  return all.filter((i) => {
    const start = divisions[i] as Bound;
    const end = divisions[i + 1] as Bound;
    return where.some((branch) => branch.every((test) => {
      if (!isIndex(test.name)) return true;
      const intervals = intervalsOf(test);
      return intervals === undefined || mayOverlap(intervals, start, end, i === count - 1);
    }));
  });
}

/** Min and max of one column in one row group, when the file records them. */
export interface ColumnRange {
  min: Bound;
  max: Bound;
}

/** Whether a row group may hold a match, from the min/max of the columns the where-clause reads. */
export function rowGroupMayMatch(where: NormalWhere, rangeOf: (name: string) => ColumnRange | undefined): boolean {
  if (where.length === 0) return true;
  return where.some((branch) => branch.every((test) => {
    const range = rangeOf(test.name);
    const intervals = intervalsOf(test);
    return range === undefined || intervals === undefined || mayOverlap(intervals, range.min, range.max, true);
  }));
}

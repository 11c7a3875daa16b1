/**
 * Evaluates a normalised where-clause over columns into a row mask. Columns come from Arrow
 * tables (table.ts) or from records such as key metadata (records.ts); both reduce to this
 * shape. Missing values follow pandas: a comparison with them is false, except `ne` and `notin`.
 */
import { QueryError } from '../errors.js';
import { describe, type NormalWhere, type Scalar, type Test } from './where.js';

export type ColumnKind = 'number' | 'string' | 'boolean' | 'mixed';

export type EvalColumn =
  /** Numbers, NaN for missing values. */
  | { kind: 'number'; length: number; numbers: ArrayLike<number> }
  | { kind: 'string' | 'boolean' | 'mixed'; length: number; values: ArrayLike<unknown> };

/** The column a name refers to, or undefined when there is none (a QueryError follows). */
export type ColumnResolver = (name: string) => EvalColumn | undefined;

/** The rows matching `where` (1 = keep), or undefined when `where` filters nothing. */
export function evaluateWhere(where: NormalWhere, length: number, resolve: ColumnResolver, available: () => string[]): Uint8Array | undefined {
  if (where.length === 0) return undefined;
  const cache = new Map<string, EvalColumn>();
  const column = (name: string): EvalColumn => {
    let found = cache.get(name);
    if (found === undefined) {
      found = resolve(name);
      if (found === undefined) throw new QueryError(`no such column or index; available: ${available().join(', ') || '(none)'}`, name);
      cache.set(name, found);
    }
    return found;
  };
  // Check every test against its column's type first, so a bad clause fails even on no rows.
  for (const branch of where) for (const test of branch) checkTypes(test, column(test.name));
  const result = new Uint8Array(length);
  const branchMask = new Uint8Array(length);
  for (const branch of where) {
    branchMask.fill(1);
    for (const test of branch) applyTest(test, column(test.name), branchMask);
    for (let i = 0; i < length; i++) if (branchMask[i]) result[i] = 1;
  }
  return result;
}

function operandsOf(test: Test): Scalar[] {
  switch (test.op) {
    case 'isin': case 'notin': return [...test.operand];
    case 'between': return [...test.operand];
    case 'regex': case 'isnull': return [];
    default: return [test.operand];
  }
}

function checkTypes(test: Test, column: EvalColumn): void {
  if (test.op === 'isnull' || column.kind === 'mixed') return;
  if (test.op === 'regex') {
    if (column.kind !== 'string') throw new QueryError(`type mismatch: regex needs a string column, this one holds ${column.kind}s`, test.name, 'regex', test.source);
    return;
  }
  for (const operand of operandsOf(test)) {
    const kind = typeof operand === 'bigint' ? 'number' : typeof operand;
    if (kind !== column.kind) {
      throw new QueryError(`type mismatch: the column holds ${column.kind}s, got ${describe(operand)}`, test.name, test.op, operand);
    }
  }
}

function applyTest(test: Test, column: EvalColumn, mask: Uint8Array): void {
  if (column.kind === 'number') applyNumberTest(test, column.numbers, mask);
  else applyValueTest(test, column.values, mask);
}

function applyNumberTest(test: Test, v: ArrayLike<number>, mask: Uint8Array): void {
  const n = mask.length;
  const num = (s: Scalar): number => Number(s);
  switch (test.op) {
    case 'eq': { const x = num(test.operand); for (let i = 0; i < n; i++) if (mask[i] && !(v[i] === x)) mask[i] = 0; return; }
    case 'ne': { const x = num(test.operand); for (let i = 0; i < n; i++) if (mask[i] && !(v[i] !== x)) mask[i] = 0; return; }
    case 'lt': { const x = num(test.operand); for (let i = 0; i < n; i++) if (mask[i] && !(v[i]! < x)) mask[i] = 0; return; }
    case 'le': { const x = num(test.operand); for (let i = 0; i < n; i++) if (mask[i] && !(v[i]! <= x)) mask[i] = 0; return; }
    case 'gt': { const x = num(test.operand); for (let i = 0; i < n; i++) if (mask[i] && !(v[i]! > x)) mask[i] = 0; return; }
    case 'ge': { const x = num(test.operand); for (let i = 0; i < n; i++) if (mask[i] && !(v[i]! >= x)) mask[i] = 0; return; }
    case 'between': {
      const lo = num(test.operand[0]); const hi = num(test.operand[1]);
      for (let i = 0; i < n; i++) if (mask[i] && !(v[i]! >= lo && v[i]! <= hi)) mask[i] = 0;
      return;
    }
    case 'isin': case 'notin': {
      const set = new Set(test.operand.map(num));
      const keep = test.op === 'isin';
      for (let i = 0; i < n; i++) if (mask[i] && set.has(v[i]!) !== keep) mask[i] = 0;
      return;
    }
    case 'isnull': for (let i = 0; i < n; i++) if (mask[i] && Number.isNaN(v[i]) !== test.operand) mask[i] = 0; return;
    case 'regex': return; // refused by checkTypes
  }
}

function applyValueTest(test: Test, v: ArrayLike<unknown>, mask: Uint8Array): void {
  const predicate = valuePredicate(test);
  for (let i = 0; i < mask.length; i++) if (mask[i] && !predicate(v[i])) mask[i] = 0;
}

const isMissing = (x: unknown): boolean => x === null || x === undefined || (typeof x === 'number' && Number.isNaN(x));

/** Same-typed comparison; undefined when the two cannot be ordered (mixed columns). */
function compare(a: unknown, b: Scalar): number | undefined {
  const bb = typeof b === 'bigint' ? Number(b) : b;
  const aa = typeof a === 'bigint' ? Number(a) : a;
  if (typeof aa !== typeof bb) return undefined;
  return (aa as never) < (bb as never) ? -1 : (aa as never) > (bb as never) ? 1 : 0;
}

function valuePredicate(test: Test): (x: unknown) => boolean {
  switch (test.op) {
    case 'eq': return (x) => !isMissing(x) && compare(x, test.operand) === 0;
    case 'ne': return (x) => isMissing(x) || compare(x, test.operand) !== 0;
    case 'lt': return (x) => !isMissing(x) && (compare(x, test.operand) ?? 0) < 0;
    case 'le': return (x) => !isMissing(x) && (compare(x, test.operand) ?? 1) <= 0;
    case 'gt': return (x) => !isMissing(x) && (compare(x, test.operand) ?? 0) > 0;
    case 'ge': return (x) => !isMissing(x) && (compare(x, test.operand) ?? -1) >= 0;
    case 'between': {
      const [lo, hi] = test.operand;
      return (x) => !isMissing(x) && (compare(x, lo) ?? -1) >= 0 && (compare(x, hi) ?? 1) <= 0;
    }
    case 'isin': case 'notin': {
      const keep = test.op === 'isin';
      const options = test.operand;
      return (x) => (!isMissing(x) && options.some((o) => compare(x, o) === 0)) === keep;
    }
    case 'regex': return (x) => typeof x === 'string' && test.operand.test(x);
    case 'isnull': return (x) => isMissing(x) === test.operand;
  }
}

/** The kind of a column of JavaScript values (null/undefined/NaN are missing and do not count). */
export function kindOfValues(values: ArrayLike<unknown>): ColumnKind {
  let kind: ColumnKind | undefined;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (isMissing(x)) continue;
    const k: ColumnKind = typeof x === 'number' || typeof x === 'bigint' ? 'number' : typeof x === 'string' ? 'string' : typeof x === 'boolean' ? 'boolean' : 'mixed';
    if (kind === undefined) kind = k;
    else if (kind !== k) return 'mixed';
  }
  return kind ?? 'mixed';
}

/** A column of JavaScript values, typed by what it holds. */
export function columnOfValues(values: readonly unknown[]): EvalColumn {
  const kind = kindOfValues(values);
  if (kind === 'number') return { kind, length: values.length, numbers: values.map((x) => (isMissing(x) ? Number.NaN : Number(x))) };
  return { kind, length: values.length, values };
}

/**
 * The filter dialect: BlueETL's `etl.q` plus `notin`, `between` and `isnull`. A where-clause is
 * checked and normalised here once (an OR of ANDs of single-operator conditions), so the
 * evaluators over tables and over key metadata share its rules and its errors.
 */
import { QueryError } from '../errors.js';

export type Scalar = number | string | boolean | bigint;

export interface Operators {
  eq?: Scalar;
  ne?: Scalar;
  lt?: Scalar;
  le?: Scalar;
  gt?: Scalar;
  ge?: Scalar;
  isin?: readonly Scalar[];
  notin?: readonly Scalar[];
  /** Unanchored, as pandas `str.contains`. */
  regex?: string;
  /** Inclusive `[lo, hi]`. */
  between?: readonly [Scalar, Scalar];
  isnull?: boolean;
}

/** A scalar means equality, an array `isin`, an object its operators (ANDed). */
export type Condition = Scalar | readonly Scalar[] | Operators;
/** Entries are ANDed; each names a column or the index. */
export type WhereClause = Readonly<Record<string, Condition>>;
/** One clause, or an OR of clauses (empty clauses are skipped). */
export type Where = WhereClause | readonly WhereClause[];

export const OPERATORS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'isin', 'notin', 'regex', 'between', 'isnull'] as const;
export type OperatorName = (typeof OPERATORS)[number];

export type Test =
  | { name: string; op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'; operand: Scalar }
  | { name: string; op: 'isin' | 'notin'; operand: readonly Scalar[] }
  | { name: string; op: 'between'; operand: readonly [Scalar, Scalar] }
  | { name: string; op: 'regex'; operand: RegExp; source: string }
  | { name: string; op: 'isnull'; operand: boolean };

/** An OR of ANDs; an empty list means "no filter". */
export type NormalWhere = Test[][];

const OPERATOR_SET: ReadonlySet<string> = new Set(OPERATORS);

/** Check and normalise a where-clause; every fault is a QueryError naming what is wrong. */
export function normalizeWhere(where: unknown): NormalWhere {
  if (where === undefined || where === null) return [];
  const clauses = Array.isArray(where) ? where : [where];
  const branches: NormalWhere = [];
  clauses.forEach((clause, i) => {
    if (!isPlainObject(clause)) {
      throw new QueryError(`${Array.isArray(where) ? `item ${i} of the list` : 'the where-clause'} must be an object of column -> condition, got ${describe(clause)}`);
    }
    const tests = Object.entries(clause).flatMap(([name, condition]) => testsOf(name, condition));
    if (tests.length > 0) branches.push(tests);
  });
  return branches;
}

/** The names a where-clause reads. */
export function namesOf(where: NormalWhere): string[] {
  return [...new Set(where.flatMap((branch) => branch.map((t) => t.name)))];
}

function testsOf(name: string, condition: unknown): Test[] {
  if (Array.isArray(condition)) return [{ name, op: 'isin', operand: scalars(condition, name, 'isin') }];
  if (!isPlainObject(condition)) return [{ name, op: 'eq', operand: scalar(condition, name, 'eq') }];
  const entries = Object.entries(condition).filter(([, v]) => v !== undefined);
  if (entries.length === 0) throw new QueryError(`empty operator object; give at least one of ${OPERATORS.join(', ')}`, name);
  return entries.map(([op, operand]) => testOf(name, op, operand));
}

function testOf(name: string, op: string, operand: unknown): Test {
  if (!OPERATOR_SET.has(op)) throw new QueryError(`unknown operator; use one of ${OPERATORS.join(', ')}`, name, op);
  switch (op as OperatorName) {
    case 'isin':
    case 'notin':
      if (!Array.isArray(operand)) throw new QueryError(`takes a list of values, got ${describe(operand)}`, name, op, operand);
      return { name, op: op as 'isin' | 'notin', operand: scalars(operand, name, op) };
    case 'between': {
      if (!Array.isArray(operand) || operand.length !== 2) throw new QueryError(`takes [lo, hi], got ${describe(operand)}`, name, op, operand);
      const [lo, hi] = scalars(operand, name, op);
      return { name, op: 'between', operand: [lo!, hi!] };
    }
    case 'regex': {
      if (typeof operand !== 'string') throw new QueryError(`takes a pattern string, got ${describe(operand)}`, name, op, operand);
      try {
        return { name, op: 'regex', operand: new RegExp(operand, 'u'), source: operand };
      } catch (err) {
        throw new QueryError(`malformed regex ${JSON.stringify(operand)}: ${(err as Error).message}`, name, op, operand);
      }
    }
    case 'isnull':
      if (typeof operand !== 'boolean') throw new QueryError(`takes true or false, got ${describe(operand)}`, name, op, operand);
      return { name, op: 'isnull', operand };
    default:
      return { name, op: op as 'eq', operand: scalar(operand, name, op) };
  }
}

function scalars(values: readonly unknown[], name: string, op: string): Scalar[] {
  return values.map((v) => scalar(v, name, op));
}

function scalar(value: unknown, name: string, op: string): Scalar {
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  if (value === null) throw new QueryError('null is not a value to compare with; use { isnull: true }', name, op, value);
  throw new QueryError(`takes a number, string or boolean, got ${describe(value)}`, name, op, value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return `a ${(value as object).constructor?.name ?? 'object'}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `the ${typeof value} ${String(value)}`;
}

/** Partition and row-group pruning: conservative (never drops a possible match), and tight on the usual conditions. */
import { describe, expect, it } from 'vitest';
import { partitionsToRead, rowGroupMayMatch } from '../../src/query/prune.js';
import { normalizeWhere, type Where } from '../../src/query/where.js';

const divisions = [0, 10, 20, 30, 39]; // partitions [0,10) [10,20) [20,30) [30,39]
const parts = (where: Where): number[] => partitionsToRead(normalizeWhere(where), divisions, (n) => n === 'idx');

describe('partitionsToRead', () => {
  it('follows dask: [d_i, d_i+1), the last partition closed', () => {
    expect(parts({ idx: 10 })).toEqual([1]);
    expect(parts({ idx: 9.5 })).toEqual([0]);
    expect(parts({ idx: 39 })).toEqual([3]);
    expect(parts({ idx: 40 })).toEqual([]);
    expect(parts({ idx: -1 })).toEqual([]);
    expect(parts({ idx: [5, 35] })).toEqual([0, 3]);
    expect(parts({ idx: { between: [15, 25] } })).toEqual([1, 2]);
    expect(parts({ idx: { ge: 30 } })).toEqual([3]);
    expect(parts({ idx: { lt: 10 } })).toEqual([0, 1]); // lt is treated as le: conservative
    expect(parts({ idx: { ge: 12, le: 18 } })).toEqual([1]);
  });
  it('ORs branches; a branch without an index condition needs every partition', () => {
    expect(parts([{ idx: 1 }, { idx: 31 }])).toEqual([0, 3]);
    expect(parts([{ idx: 1 }, { other: 31 }])).toEqual([0, 1, 2, 3]);
    expect(parts({ idx: { ne: 3 } })).toEqual([0, 1, 2, 3]);
    expect(parts({ idx: { regex: '1' } })).toEqual([0, 1, 2, 3]);
  });
  it('does not prune on unknown divisions or operands of another type', () => {
    expect(partitionsToRead(normalizeWhere({ idx: 3 }), [null, null, null], (n) => n === 'idx')).toEqual([0, 1]);
    expect(parts({ idx: 'a' })).toEqual([0, 1, 2, 3]);
    expect(partitionsToRead(normalizeWhere({ idx: 'b/2' }), ['a/0', 'b/0', 'c/0'], (n) => n === 'idx')).toEqual([1]);
  });
});

describe('rowGroupMayMatch', () => {
  const range = { x: { min: 10, max: 20 }, s: { min: 'b', max: 'd' } } as Record<string, { min: number | string; max: number | string }>;
  const may = (where: Where): boolean => rowGroupMayMatch(normalizeWhere(where), (n) => range[n]);
  it('skips only when min/max exclude every match', () => {
    expect(may({ x: 15 })).toBe(true);
    expect(may({ x: 20 })).toBe(true);
    expect(may({ x: 21 })).toBe(false);
    expect(may({ x: { lt: 10 } })).toBe(true); // conservative at the boundary
    expect(may({ x: { lt: 9 } })).toBe(false);
    expect(may({ x: [1, 2, 30] })).toBe(false);
    expect(may({ s: { ge: 'e' } })).toBe(false);
    expect(may({ s: { between: ['a', 'bb'] } })).toBe(true);
    expect(may({ x: { ne: 15 } })).toBe(true);
    expect(may({ x: { isnull: true } })).toBe(true);
    expect(may({ nostats: 1 })).toBe(true);
    expect(may([{ x: 99 }, { s: 'c' }])).toBe(true);
    expect(may([{ x: 99 }, { s: 'z' }])).toBe(false);
  });
});

/**
 * What the conformance suite compares and stores: exact comparison of loaded values (typed arrays
 * by type and bits, -0, NaN, bigint) and deterministic samples (n-d arrays of every dtype, cells).
 */
import { seededRandom } from '../../initializers/simrun/generate.js';
import type { NdArray, NdArrayDType, TypedArray } from '../../src/index.js';
import { expect } from 'vitest';

// ---------------------------------------------------------------- exact comparison

function isTyped(value: unknown): value is TypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/**
 * Deep, exact equality: typed arrays must have the same class and the same bytes (so NaN payloads,
 * -0 and big ints count), numbers compare with Object.is, bigints stay bigints, object keys match.
 */
export function sameValueProblem(actual: unknown, expected: unknown, at = '$'): string | undefined {
  if (isTyped(expected)) {
    if (!isTyped(actual)) return `${at}: expected a ${expected.constructor.name}, got ${describeValue(actual)}`;
    if (actual.constructor.name !== expected.constructor.name) return `${at}: expected a ${expected.constructor.name}, got a ${actual.constructor.name}`;
    if (actual.length !== expected.length) return `${at}: expected length ${expected.length}, got ${actual.length}`;
    const a = new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength);
    const e = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
    for (let i = 0; i < e.length; i++) if (a[i] !== e[i]) return `${at}: bytes differ at byte ${i}`;
    return undefined;
  }
  if (typeof expected !== 'object' || expected === null) {
    if (typeof actual !== typeof expected) return `${at}: expected ${typeof expected} ${describeValue(expected)}, got ${typeof actual} ${describeValue(actual)}`;
    return Object.is(actual, expected) ? undefined : `${at}: expected ${describeValue(expected)}, got ${describeValue(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}: expected an array, got ${describeValue(actual)}`;
    if (actual.length !== expected.length) return `${at}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const problem = sameValueProblem(actual[i], expected[i], `${at}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual) || isTyped(actual)) {
    return `${at}: expected an object, got ${describeValue(actual)}`;
  }
  const ek = Object.keys(expected).sort();
  const ak = Object.keys(actual).sort();
  if (JSON.stringify(ek) !== JSON.stringify(ak)) return `${at}: expected keys ${JSON.stringify(ek)}, got ${JSON.stringify(ak)}`;
  for (const k of ek) {
    const problem = sameValueProblem((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${at}.${k}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function describeValue(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (isTyped(v)) return `a ${v.constructor.name}`;
  try {
    return JSON.stringify(v)?.slice(0, 60) ?? String(v);
  } catch {
    return String(v);
  }
}

export function expectSameValue(actual: unknown, expected: unknown): void {
  const problem = sameValueProblem(actual, expected);
  expect(problem, problem).toBeUndefined();
}

/** What the npy/npz loaders return for a stored array: an NdArray (a bare TypedArray becomes 1-d). */
export function expectSameArray(actual: unknown, expected: unknown): void {
  const want: NdArray = isTyped(expected)
    ? { dtype: dtypeOfTyped(expected), shape: [expected.length], data: expected }
    : (expected as NdArray);
  expect(actual).toBeTypeOf('object');
  const got = actual as NdArray;
  expect(got.dtype).toBe(want.dtype);
  expect([...got.shape]).toEqual([...want.shape]);
  expectSameValue(got.data, want.data);
}

function dtypeOfTyped(t: TypedArray): NdArrayDType {
  const byName: Record<string, NdArrayDType> = {
    Int8Array: 'int8', Int16Array: 'int16', Int32Array: 'int32', BigInt64Array: 'int64',
    Uint8Array: 'uint8', Uint16Array: 'uint16', Uint32Array: 'uint32', BigUint64Array: 'uint64',
    Float32Array: 'float32', Float64Array: 'float64',
  };
  const dtype = byName[t.constructor.name];
  if (dtype === undefined) throw new Error(`no dtype for ${t.constructor.name}`);
  return dtype;
}

// ---------------------------------------------------------------- values


const DTYPE_SAMPLES: Record<NdArrayDType, { make: (n: number) => TypedArray; fill: (i: number) => number | bigint }> = {
  bool: { make: (n) => new Uint8Array(n), fill: (i) => (i * 7) % 3 === 0 ? 1 : 0 },
  int8: { make: (n) => new Int8Array(n), fill: (i) => [-128, 127, 0, -1, 5][i % 5]! },
  int16: { make: (n) => new Int16Array(n), fill: (i) => [-32768, 32767, 0, -1, 300][i % 5]! },
  int32: { make: (n) => new Int32Array(n), fill: (i) => [-2147483648, 2147483647, 0, -1, 70000][i % 5]! },
  int64: { make: (n) => new BigInt64Array(n), fill: (i) => [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n][i % 5]! },
  uint8: { make: (n) => new Uint8Array(n), fill: (i) => [0, 255, 1, 128][i % 4]! },
  uint16: { make: (n) => new Uint16Array(n), fill: (i) => [0, 65535, 1, 256][i % 4]! },
  uint32: { make: (n) => new Uint32Array(n), fill: (i) => [0, 4294967295, 1, 65536][i % 4]! },
  uint64: { make: (n) => new BigUint64Array(n), fill: (i) => [0n, 2n ** 64n - 1n, 1n, 2n ** 53n + 1n][i % 4]! },
  float32: { make: (n) => new Float32Array(n), fill: (i) => [Math.fround(0.1), -0, Number.NaN, Infinity, -Infinity, 1.401298464324817e-45, 3.4028234663852886e38][i % 7]! },
  float64: { make: (n) => new Float64Array(n), fill: (i) => [0.1, -0, Number.NaN, Infinity, -Infinity, 5e-324, Number.MAX_VALUE, i / 3][i % 8]! },
};

export const ALL_DTYPES = Object.keys(DTYPE_SAMPLES) as NdArrayDType[];

/** An n-d array of `dtype` and `shape` with edge values of the type. */
export function sampleArray(dtype: NdArrayDType, shape: number[]): NdArray {
  const count = shape.reduce((a, b) => a * b, 1);
  const sample = DTYPE_SAMPLES[dtype];
  const data = sample.make(count);
  const target = data as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < count; i++) target[i] = sample.fill(i);
  return { dtype, shape, data };
}

export const ARRAY_SHAPES: Array<{ name: string; shape: number[] }> = [
  { name: '1d', shape: [13] },
  { name: '2d', shape: [3, 5] },
  { name: '3d', shape: [2, 3, 4] },
  { name: 'empty', shape: [0] },
  { name: 'empty3d', shape: [2, 0, 3] },
];

/** A deterministic cell in ISF's serialised structure. */
export function sampleCell(sectionCount: number, synapseCount: number, seed = 42): Record<string, unknown> {
  const rnd = seededRandom(seed);
  const tVec = new Float64Array(101).map((_, i) => i * 0.025);
  const sections = Array.from({ length: sectionCount }, (_, s) => ({
    recVList: [new Float64Array(8).map(() => -70 + rnd() * 40)],
    recordVars: s % 10 === 0 ? { 'Ca_HVA.ica': [new Float64Array(4).map(() => rnd() * 1e-3)] } : {},
    label: s === 0 ? 'Soma' : s % 3 === 0 ? 'ApicalDendrite' : 'Dendrite',
    sec_id: s,
    parent_id: s === 0 ? null : Math.floor(rnd() * s),
  }));
  const populations = ['L4ss_C2', 'L5tt_C2', 'VPM_C2', 'L23_D1'];
  const synapses: Record<string, unknown[]> = {};
  for (let i = 0; i < synapseCount; i++) {
    const pop = populations[i % populations.length]!;
    (synapses[pop] ??= []).push({
      preCell: { spikeTimes: i % 5 === 0 ? [] : [rnd() * 300, rnd() * 300] },
      coordinates: [rnd() * 100, rnd() * 100, rnd() * 1000],
    });
  }
  return {
    tVec,
    parameters: { tStop: 300, dt: 0.025, neuron: { filename: 'mdb://x/morph/cell.hoc', cell_modify_functions: {} } },
    sections,
    synapses,
    hoc: '/* morphology */\n{create soma}\n{access soma}\n{nt_soma = 1}\n'.repeat(20),
  };
}

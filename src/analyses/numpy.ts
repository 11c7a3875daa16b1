/**
 * The two NumPy routines ISF's analyses rest on, reproduced to the bit: `np.arange` for bin
 * edges (its float rounding decides how many bins there are) and `np.histogram` with explicit
 * edges (half-open bins, the last one closed; values outside and NaN are not counted).
 */

/** `np.arange(start, stop, step)` for floats: length ceil((stop-start)/step), values start + i*((start+step)-start). */
export function arange(start: number, stop: number, step: number): Float64Array {
  if (!(step !== 0) || !Number.isFinite(step)) throw new RangeError(`arange: step must be a finite non-zero number, got ${step}`);
  const length = Math.ceil((stop - start) / step);
  if (!(length > 0)) return new Float64Array(0);
  const out = new Float64Array(length);
  const delta = (start + step) - start;
  out[0] = start;
  for (let i = 1; i < length; i++) out[i] = start + i * delta;
  return out;
}

/** Adds `np.histogram(values, edges)[0]` into `counts` (length edges.length - 1), at `offset`, `stride` apart. */
export class Histogram {
  private readonly bins: number;
  private readonly first: number;
  private readonly last: number;
  private readonly width: number;

  constructor(readonly edges: Float64Array) {
    for (let i = 1; i < edges.length; i++) {
      if (!(edges[i - 1]! <= edges[i]!)) throw new RangeError('histogram: bin edges must increase monotonically');
    }
    this.bins = Math.max(0, edges.length - 1);
    this.first = edges[0] ?? Number.NaN;
    this.last = edges[edges.length - 1] ?? Number.NaN;
    this.width = this.bins > 0 ? (this.last - this.first) / this.bins : 1;
  }

  get numBins(): number {
    return this.bins;
  }

  /** The bin of `v`, or -1 when NumPy would not count it. */
  binOf(v: number): number {
    if (!(v >= this.first && v <= this.last) || this.bins === 0) return -1;
    const e = this.edges;
    // A guess from the mean width, corrected against the exact edges.
    let b = Math.floor((v - this.first) / this.width);
    if (!(b >= 0)) b = 0;
    if (b >= this.bins) b = this.bins - 1;
    while (b > 0 && e[b]! > v) b--;
    while (b < this.bins - 1 && e[b + 1]! <= v) b++;
    return b;
  }

  add(values: ArrayLike<number>, counts: Float64Array, offset = 0, stride = 1): void {
    // binOf, inlined with locals: this loop runs once per value of a frame.
    const e = this.edges;
    const first = this.first;
    const last = this.last;
    const perUnit = 1 / this.width;
    const top = this.bins - 1;
    if (top < 0) return;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!(v >= first && v <= last)) continue;
      // A guess (multiplying by the inverse width), corrected against the exact edges.
      let b = Math.floor((v - first) * perUnit);
      if (b > top) b = top;
      while (b > 0 && e[b]! > v) b--;
      while (b < top && e[b + 1]! <= v) b++;
      counts[offset + b * stride]! += 1;
    }
  }
}

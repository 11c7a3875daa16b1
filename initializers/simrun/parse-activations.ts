/**
 * The activation files of a run folder (`simulation_runNNNN_synapses.csv`,
 * `simulation_runNNNN_presynaptic_cells.csv`), parsed from their bytes: the completeness check,
 * the widest row (the check pass), and the rows themselves. Errors name the file and the line.
 */
import { fail } from './input-problem.js';
import { numEnd, readInt, readNumber, tokenAt } from './numbers.js';
import { KeyedList, type KeyedStrings, type Strings } from './string-columns.js';

export { decodeKeyed, type KeyedStrings, type Strings } from './string-columns.js';

export const CUT_OFF = 'a crashed or still-running simulation leaves such files';

/**
 * An activation file of a trial that has a voltage trace: at least one row after the header,
 * and a last row that ends with the comma written after every time (simrun writes no final
 * newline, so a row cut short ends in the middle of a number or field).
 */
export function checkActivationComplete(buf: Uint8Array, file: string): void {
  if (buf.length === 0) fail(file, `the file is empty (0 bytes), but its trial has a voltage trace (${CUT_OFF})`);
  let end = buf.length;
  while (end > 0 && (buf[end - 1] === 10 || buf[end - 1] === 13 || buf[end - 1] === 32)) end--;
  const start = buf.lastIndexOf(10, end - 1) + 1;
  if (end === 0 || buf[start] === 35 /* # */) {
    fail(file, `the file holds only its header, no rows, but its trial has a voltage trace (${CUT_OFF})`, 1);
  }
  if (buf[end - 1] !== 44 /* , */) {
    let line = 1;
    for (let p = buf.indexOf(10); p !== -1 && p < start; p = buf.indexOf(10, p + 1)) line++;
    fail(file, `the last row is cut off: it does not end with the ',' that follows every time (${CUT_OFF})`, line);
  }
}

/**
 * The activation rows of a run folder's synapse (or presynaptic-cell) files, in the layout the
 * Parquet writer takes: one column per field, int64 IDs, and `width` time columns of `rows`
 * values each (column-major, NaN-padded).
 */
export interface ActivationBlock {
  rows: number;
  index: KeyedStrings;
  type: KeyedStrings;
  id: BigInt64Array;
  /** synapses only */
  somaDistance?: Float64Array;
  sectionId?: BigInt64Array;
  sectionPtId?: BigInt64Array;
  dendriteLabel?: KeyedStrings;
  /** times[k * rows + r] = the k-th activation time of row r, NaN past its last */
  times: Float64Array;
  width: number;
  /** the most times on any row (at most width) */
  maxTimes: number;
}

/** Rows of an activation file: its lines that are neither empty nor `#` comments (what the parser reads). */
export function activationRows(buf: Uint8Array): number {
  // each line scan here is a plain loop, not a shared line walker taking a callback: V8
  // recompiled such a walker each time it met another callback (eight times per thread)
  const len = buf.length;
  let rows = 0;
  for (let p = 0; p < len;) {
    let eol = buf.indexOf(10, p);
    if (eol === -1) eol = len;
    const e = eol > p && buf[eol - 1] === 13 ? eol - 1 : eol;
    if (e > p && buf[p] !== 35 /* # */) rows++;
    p = eol + 1;
  }
  return rows;
}

/** An int64 column written through its 32-bit halves: a BigInt per value costs ~40 ns. */
class Int64Column {
  readonly values: BigInt64Array;
  private readonly halves: Int32Array;
  constructor(rows: number) {
    this.values = new BigInt64Array(rows);
    this.halves = new Int32Array(this.values.buffer);
  }
  set(r: number, v: number): void {
    // little-endian halves, as on every platform Node runs on; beyond 32 bits the BigInt path
    if (v >= -2147483648 && v <= 2147483647) {
      this.halves[2 * r] = v;
      this.halves[2 * r + 1] = v < 0 ? -1 : 0;
    } else this.values[r] = BigInt(v);
  }
}

/**
 * Parses a run folder's synapse files (`kind = 'synapses'`: type, ID, soma distance, section ID,
 * section pt ID, dendrite label, times) or presynaptic-cell files (type, cell ID, times) straight
 * into one ActivationBlock: a first pass counts the rows, so every value is written once, where
 * the writer reads it. Each file's first line is a `#` header; fields are tab-separated; the
 * times field is `t1,t2,...,` (possibly empty). `ids` holds the trial id of each file, in order
 * (the index column keys them, not a copy per row); `width`
 * is the campaign's widest row (the check pass): a row with more times is an error.
 */
export function parseActivationFiles(
  files: readonly { buf: Uint8Array; file: string }[], kind: 'synapses' | 'cells', ids: Strings, width: number, timesPerRow?: Int32Array,
): ActivationBlock {
  const counts = files.map((f) => activationRows(f.buf));
  const rows = counts.reduce((a, b) => a + b, 0);
  const syn = kind === 'synapses';
  const index = new Int32Array(rows);
  const out: ParseTarget = {
    rows, width, row: 0, maxTimes: 0, syn,
    type: new KeyedList(rows),
    label: syn ? new KeyedList(rows) : undefined,
    id: new Int64Column(rows),
    somaDistance: syn ? new Float64Array(rows) : undefined,
    sectionId: syn ? new Int64Column(rows) : undefined,
    sectionPtId: syn ? new Int64Column(rows) : undefined,
    times: new Float64Array(width * rows).fill(NaN),
    timesPerRow,
  };
  files.forEach(({ buf, file }, i) => {
    const first = out.row;
    parseActivationInto(buf, file, out);
    index.fill(i, first, out.row);
  });
  const block: ActivationBlock = {
    rows, index: { keys: index, values: ids }, type: out.type.done(), id: out.id.values, times: out.times, width, maxTimes: out.maxTimes,
  };
  if (syn) {
    block.somaDistance = out.somaDistance!;
    block.sectionId = out.sectionId!.values;
    block.sectionPtId = out.sectionPtId!.values;
    block.dendriteLabel = out.label!.done();
  }
  return block;
}

interface ParseTarget {
  rows: number; width: number; row: number; maxTimes: number; syn: boolean;
  type: KeyedList; label: KeyedList | undefined;
  id: Int64Column; somaDistance: Float64Array | undefined; sectionId: Int64Column | undefined; sectionPtId: Int64Column | undefined;
  times: Float64Array;
  timesPerRow: Int32Array | undefined;
}

function parseActivationInto(buf: Uint8Array, file: string, out: ParseTarget): void {
  const len = buf.length;
  let line = 0;
  let p = 0;
  while (p < len) {
    line++;
    const c = buf[p]!;
    // a well-formed row in one pass; comments, blank lines and anything unusual take parseRow
    if (c !== 35 && c !== 10 && c !== 13) {
      if (out.row === out.rows) fail(file, 'more rows than counted (file changed while reading?)', line);
      const eol = fastRow(buf, p, out);
      if (eol !== -1) { p = eol + 1; continue; }
    }
    let eol = buf.indexOf(10, p);
    if (eol === -1) eol = len;
    parseRow(buf, file, p, eol, line, out);
    p = eol + 1;
  }
}

/**
 * One row that holds no surprise (every field where it belongs, numbers that parse, no more times
 * than the width), read in one pass: no search for the line's end or for tabs ahead of the
 * fields, each number read where it starts. Returns the row's end (its newline, or the buffer's
 * end), or -1 having written nothing that counts: parseRow then reads the row again and says what
 * is wrong with it, exactly as before this path existed.
 */
function fastRow(buf: Uint8Array, p: number, out: ParseTarget): number {
  const len = buf.length;
  const row = out.row;
  let t = p;
  while (t < len && buf[t] !== 9 && buf[t] !== 10) t++;
  if (t === len || buf[t] !== 9) return -1;
  const typeFrom = p;
  const typeTo = t;
  let q = t + 1;
  const id = readInt(buf, q, len);
  if (numEnd === -1) return -1;
  q = numEnd;
  let labelFrom = 0;
  let labelTo = 0;
  if (out.syn) {
    if (buf[q] !== 9) return -1;
    const soma = readNumber(buf, q + 1, len);
    if (numEnd === -1 || buf[numEnd] !== 9) return -1;
    const section = readInt(buf, numEnd + 1, len);
    if (numEnd === -1 || buf[numEnd] !== 9) return -1;
    const point = readInt(buf, numEnd + 1, len);
    if (numEnd === -1 || buf[numEnd] !== 9) return -1;
    labelFrom = numEnd + 1;
    t = labelFrom;
    while (t < len && buf[t] !== 9 && buf[t] !== 10) t++;
    if (t === len || buf[t] !== 9) return -1;
    labelTo = t;
    q = t + 1;
    out.somaDistance![row] = soma;
    out.sectionId!.set(row, section);
    out.sectionPtId!.set(row, point);
  } else if (q < len && buf[q] === 9) q++;
  else if (!(q === len || buf[q] === 10 || (buf[q] === 13 && (q + 1 === len || buf[q + 1] === 10)))) return -1;
  // times, up to the newline (a '\r' just before it ends the line too)
  const { rows, width, times } = out;
  let count = 0;
  let eol = len;
  while (q < len) {
    const c = buf[q]!;
    if (c === 44 || c === 32) { q++; continue; }
    if (c === 10) { eol = q; break; }
    if (c === 13 && (q + 1 === len || buf[q + 1] === 10)) { eol = q + 1 === len ? len : q + 1; break; }
    // a tab (one field too many), a lone '\r', a row wider than the check pass found, a bad number
    const v = c === 9 || c === 13 || count === width ? 0 : readNumber(buf, q, len);
    if (c === 9 || c === 13 || count === width || numEnd === -1) {
      for (let k = 0; k < count; k++) times[k * rows + row] = NaN;
      return -1;
    }
    times[count * rows + row] = v;
    count++;
    q = numEnd;
  }
  out.id.set(row, id);
  out.type.push(buf, typeFrom, typeTo);
  if (out.syn) out.label!.push(buf, labelFrom, labelTo);
  if (count > out.maxTimes) out.maxTimes = count;
  if (out.timesPerRow) out.timesPerRow[row] = count;
  out.row = row + 1;
  return eol;
}

/** One line, field by field, every irregularity an error naming the line. */
function parseRow(buf: Uint8Array, file: string, p: number, eol: number, line: number, out: ParseTarget): void {
  const { syn, rows, width, times } = out;
  const nFixed = syn ? 6 : 2;
  let e = eol;
  if (e > p && buf[e - 1] === 13) e--;
  if (e === p || buf[p] === 35 /* # */) return;
  const row = out.row;
  if (row === rows) fail(file, 'more rows than counted (file changed while reading?)', line);
  // fixed fields
  let q = p;
  for (let f = 0; f < nFixed; f++) {
    // the next tab, by a byte loop (fields are short: cheaper than a native indexOf call)
    let t = q;
    while (t < e && buf[t] !== 9) t++;
    if (t === e && !(f === nFixed - 1 && !syn)) { // cells: times may be missing entirely
      fail(file, `ragged row: ${f + 1} tab-separated fields where ${nFixed + 1} are expected`, line);
    }
    if (f === 0) out.type.push(buf, q, t);
    else if (f === 1) {
      const v = readInt(buf, q, t);
      if (numEnd === -1) fail(file, `non-integer ID '${tokenAt(buf, q, t)}' in column 2`, line);
      out.id.set(row, v);
    } else if (f === 2) {
      const v = readNumber(buf, q, t);
      if (numEnd === -1 || numEnd !== t) fail(file, `non-numeric soma distance '${tokenAt(buf, q, t)}' in column 3`, line);
      out.somaDistance![row] = v;
    } else if (f === 3 || f === 4) {
      const v = readInt(buf, q, t);
      if (numEnd === -1 || numEnd !== t) fail(file, `non-integer ${f === 3 ? 'section ID' : 'section pt ID'} '${tokenAt(buf, q, t)}' in column ${f + 1}`, line);
      (f === 3 ? out.sectionId! : out.sectionPtId!).set(row, v);
    } else out.label!.push(buf, q, t);
    q = t + 1;
  }
  // times: t1,t2,..., up to end of line
  let count = 0;
  if (q <= e) {
    const tab = buf.indexOf(9, q);
    if (tab !== -1 && tab < e) fail(file, `ragged row: more than ${nFixed + 1} tab-separated fields`, line);
    while (q < e) {
      const c = buf[q]!;
      if (c === 44 || c === 32) { q++; continue; }
      const v = readNumber(buf, q, e);
      if (numEnd === -1) fail(file, `non-numeric activation time '${tokenAt(buf, q, e)}'`, line);
      if (count === width) fail(file, `a row has more than the ${width} activation times found by the check pass (file changed while reading?)`, line);
      times[count * rows + row] = v;
      count++;
      q = numEnd;
    }
  }
  if (count > out.maxTimes) out.maxTimes = count;
  if (out.timesPerRow) out.timesPerRow[row] = count;
  out.row = row + 1;
}

/**
 * The largest number of activation times on any line: a cheap pre-pass (no number parsing).
 * The times field is whatever follows the last tab; it holds one time per comma, plus one
 * when the last time lacks its trailing comma.
 */
export function maxTimesPerLine(buf: Uint8Array): number {
  const len = buf.length;
  let max = 0;
  for (let p = 0; p < len;) {
    let eol = buf.indexOf(10, p);
    if (eol === -1) eol = len;
    const n = buf[p] === 35 /* # */ ? 0 : timesOnLine(buf, p, eol);
    if (n > max) max = n;
    p = eol + 1;
  }
  return max;
}

/** Activation times on the line [p, eol): one per comma after its last tab, plus an unterminated last one. */
function timesOnLine(buf: Uint8Array, p: number, eol: number): number {
  const tab = buf.lastIndexOf(9, eol - 1);
  if (tab < p) return 0;
  let n = 0;
  let last = -1;
  for (let q = tab + 1; q < eol; q++) {
    const c = buf[q]!;
    if (c === 44) n++;
    if (c !== 32 && c !== 13) last = c;
  }
  if (last !== -1 && last !== 44) n++;
  return n;
}

/**
 * Parsers for the raw simrun CSV files, working on the file's bytes. Every error names the file
 * and the 1-based line, and carries the offending token.
 */
import { numEnd, readInt, readNumber, tokenAt } from './numbers.js';

/** A bad-input fact, plain data so it can cross a worker boundary. */
export interface InputProblem { file: string; reason: string; line?: number }

export class InputProblemError extends Error {
  constructor(readonly problem: InputProblem) {
    super(`${problem.file}${problem.line === undefined ? '' : `:${problem.line}`}: ${problem.reason}`);
  }
}

function fail(file: string, reason: string, line?: number): never {
  throw new InputProblemError(line === undefined ? { file, reason } : { file, reason, line });
}

/** A voltage-trace file: `nTimes` rows of time + `nCols` values, stored time-major. */
export interface TraceMatrix {
  time: Float64Array;
  /** values[t * nCols + j] = column j at time index t */
  values: Float64Array;
  nTimes: number;
  nCols: number;
}

function countLines(buf: Uint8Array): number {
  let n = 0;
  let p = buf.indexOf(10);
  while (p !== -1) { n++; p = buf.indexOf(10, p + 1); }
  if (buf.length > 0 && buf[buf.length - 1] !== 10) n++;
  return n;
}

/** Number of tab-separated fields in the header line, or -1 when it has no tab. */
function headerFields(buf: Uint8Array, end: number): number {
  let n = 1;
  let tabs = 0;
  for (let p = 0; p < end; p++) if (buf[p] === 9) { n++; tabs++; }
  return tabs === 0 ? -1 : n;
}

/**
 * `t<TAB>v0<TAB>v1...` lines after one header line (ISF: whitespace-delimited, first line
 * skipped). Every row must have as many fields as the first data row (and as the header, when
 * the header is tab-separated).
 */
export function parseTraceCsv(buf: Uint8Array, file: string): TraceMatrix {
  const len = buf.length;
  checkFinalNewline(buf, file);
  let headerEnd = buf.indexOf(10);
  if (headerEnd === -1) headerEnd = len;
  const hdr = headerFields(buf, headerEnd > 0 && buf[headerEnd - 1] === 13 ? headerEnd - 1 : headerEnd);
  const maxRows = countLines(buf);
  let p = headerEnd + 1;
  let nFields = -1;
  let nCols = 0;
  let time = new Float64Array(0);
  let values = new Float64Array(0);
  let row = 0;
  let line = 1;
  let rowBuf: number[] = [];
  while (p < len) {
    line++;
    // skip blanks at line start; an empty line (or trailing blank lines) is skipped like numpy does
    let c = buf[p]!;
    while ((c === 32 || c === 9 || c === 13) && p < len) { p++; c = p < len ? buf[p]! : 10; }
    if (p >= len) break;
    if (c === 10) { p++; continue; }
    if (nFields === -1) {
      // first data row: count its fields
      rowBuf = [];
      let q = p;
      for (;;) {
        const v = readNumber(buf, q, len);
        if (numEnd === -1) fail(file, `non-numeric value '${tokenAt(buf, q, len)}' in column ${rowBuf.length + 1}`, line);
        rowBuf.push(v);
        q = numEnd;
        let d = q < len ? buf[q]! : 10;
        while (d === 9 || d === 32 || d === 13) { q++; d = q < len ? buf[q]! : 10; }
        if (d === 10) { q++; break; }
        if (d === 44) fail(file, `unexpected ',' in column ${rowBuf.length + 1}`, line);
      }
      nFields = rowBuf.length;
      if (hdr !== -1 && hdr !== nFields) fail(file, `the header has ${hdr} tab-separated fields but this row has ${nFields}`, line);
      nCols = nFields - 1;
      time = new Float64Array(maxRows);
      values = new Float64Array(maxRows * nCols);
      time[0] = rowBuf[0]!;
      for (let j = 1; j < nFields; j++) values[j - 1] = rowBuf[j]!;
      row = 1;
      p = q;
      continue;
    }
    const base = row * nCols;
    let f = 0;
    let q = p;
    for (;;) {
      const v = readNumber(buf, q, len);
      if (numEnd === -1) fail(file, `non-numeric value '${tokenAt(buf, q, len)}' in column ${f + 1}`, line);
      if (f === 0) time[row] = v;
      else if (f < nFields) values[base + f - 1] = v;
      f++;
      q = numEnd;
      let d = q < len ? buf[q]! : 10;
      while (d === 9 || d === 32 || d === 13) { q++; d = q < len ? buf[q]! : 10; }
      if (d === 10) { q++; break; }
      if (d === 44) fail(file, `unexpected ',' in column ${f + 1}`, line);
    }
    if (f !== nFields) fail(file, `ragged row: ${f} fields where the first data row has ${nFields}`, line);
    row++;
    p = q;
  }
  if (nFields === -1) fail(file, 'no data rows after the header', 1);
  return { time: time.slice(0, row), values: values.subarray(0, row * nCols), nTimes: row, nCols };
}

const CUT_OFF = 'a crashed or still-running simulation leaves such files';

/** A trace file ends with a newline (numpy writes one after every row); without it the last row was cut off. */
export function checkFinalNewline(buf: Uint8Array, file: string): void {
  if (buf.length > 0 && buf[buf.length - 1] !== 10) {
    fail(file, `the file ends without its final newline: the last row is cut off (${CUT_OFF})`, countLines(buf));
  }
}

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

/** Columns of one synapse or presynaptic-cell file. Strings kept as UTF-8 bytes + offsets. */
export interface ActivationColumns {
  rows: number;
  /** synapse_type / presynaptic_cell_type */
  type: { data: Uint8Array; offsets: Int32Array };
  id: Float64Array;
  /** synapses only */
  somaDistance?: Float64Array;
  sectionId?: Float64Array;
  sectionPtId?: Float64Array;
  dendriteLabel?: { data: Uint8Array; offsets: Int32Array };
  /** times of row r: times[timeOffsets[r] .. timeOffsets[r+1]) */
  times: Float64Array;
  timeOffsets: Int32Array;
  maxTimes: number;
}

class ByteList {
  data: Uint8Array;
  offsets: Int32Array;
  n = 0;
  used = 0;
  constructor(rows: number, bytes: number) {
    this.data = new Uint8Array(Math.max(16, bytes));
    this.offsets = new Int32Array(rows + 1);
  }
  push(src: Uint8Array, a: number, b: number): void {
    const need = this.used + (b - a);
    if (need > this.data.length) {
      const bigger = new Uint8Array(Math.max(need, this.data.length * 2));
      bigger.set(this.data.subarray(0, this.used));
      this.data = bigger;
    }
    // short fields (types, labels): a byte loop beats creating a subarray per row
    const data = this.data;
    for (let i = a, j = this.used; i < b; i++, j++) data[j] = src[i]!;
    this.used = need;
    this.n++;
    this.offsets[this.n] = need;
  }
  /** Views, not copies: the caller (mergeActivations) copies a folder's files into one block anyway. */
  done(): { data: Uint8Array; offsets: Int32Array } {
    return { data: this.data.subarray(0, this.used), offsets: this.offsets.subarray(0, this.n + 1) };
  }
}

/**
 * A synapse file (`kind = 'synapses'`: type, ID, soma distance, section ID, section pt ID,
 * dendrite label, times) or a presynaptic-cell file (type, cell ID, times). The first line is a
 * `#` header; fields are tab-separated; the times field is `t1,t2,...,` (possibly empty).
 */
export function parseActivationCsv(buf: Uint8Array, file: string, kind: 'synapses' | 'cells'): ActivationColumns {
  const len = buf.length;
  const maxRows = countLines(buf);
  const syn = kind === 'synapses';
  const nFixed = syn ? 6 : 2;
  const types = new ByteList(maxRows, maxRows * 8);
  const labels = syn ? new ByteList(maxRows, maxRows * 14) : undefined;
  const id = new Float64Array(maxRows);
  const somaDistance = syn ? new Float64Array(maxRows) : undefined;
  const sectionId = syn ? new Float64Array(maxRows) : undefined;
  const sectionPtId = syn ? new Float64Array(maxRows) : undefined;
  let times = new Float64Array(Math.max(64, maxRows * 4));
  const timeOffsets = new Int32Array(maxRows + 1);
  let nt = 0;
  let maxTimes = 0;
  let row = 0;
  let line = 0;
  let p = 0;
  while (p < len) {
    line++;
    let eol = buf.indexOf(10, p);
    if (eol === -1) eol = len;
    let e = eol;
    if (e > p && buf[e - 1] === 13) e--;
    if (e === p || buf[p] === 35 /* # */) { p = eol + 1; continue; }
    // fixed fields
    let q = p;
    for (let f = 0; f < nFixed; f++) {
      // the next tab, by a byte loop (fields are short: cheaper than a native indexOf call)
      let t = q;
      while (t < e && buf[t] !== 9) t++;
      if (t === e) {
        if (f === nFixed - 1 && !syn) t = e; // cells: times may be missing entirely
        else fail(file, `ragged row: ${f + 1} tab-separated fields where ${nFixed + 1} are expected`, line);
      }
      if (f === 0) types.push(buf, q, t);
      else if (f === 1) {
        const v = readInt(buf, q, t);
        if (numEnd === -1) fail(file, `non-integer ID '${tokenAt(buf, q, t)}' in column 2`, line);
        id[row] = v;
      } else if (syn && f === 2) {
        const v = readNumber(buf, q, t);
        if (numEnd === -1 || numEnd !== t) fail(file, `non-numeric soma distance '${tokenAt(buf, q, t)}' in column 3`, line);
        somaDistance![row] = v;
      } else if (syn && (f === 3 || f === 4)) {
        const v = readInt(buf, q, t);
        if (numEnd === -1 || numEnd !== t) fail(file, `non-integer ${f === 3 ? 'section ID' : 'section pt ID'} '${tokenAt(buf, q, t)}' in column ${f + 1}`, line);
        (f === 3 ? sectionId! : sectionPtId!)[row] = v;
      } else if (syn && f === 5) labels!.push(buf, q, t);
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
        if (nt === times.length) {
          const bigger = new Float64Array(times.length * 2);
          bigger.set(times);
          times = bigger;
        }
        times[nt++] = v;
        count++;
        q = numEnd;
      }
    }
    if (count > maxTimes) maxTimes = count;
    row++;
    timeOffsets[row] = nt;
    p = eol + 1;
  }
  // views over the parse buffers (no second copy): mergeActivations copies them into the folder's block
  const out: ActivationColumns = {
    rows: row,
    type: types.done(),
    id: id.subarray(0, row),
    times: times.subarray(0, nt),
    timeOffsets: timeOffsets.subarray(0, row + 1),
    maxTimes,
  };
  if (syn) {
    out.somaDistance = somaDistance!.subarray(0, row);
    out.sectionId = sectionId!.subarray(0, row);
    out.sectionPtId = sectionPtId!.subarray(0, row);
    out.dendriteLabel = labels!.done();
  }
  return out;
}

/**
 * The largest number of activation times on any line: a cheap pre-pass (no number parsing).
 * The times field is whatever follows the last tab; it holds one time per comma, plus one
 * when the last time lacks its trailing comma.
 */
export function maxTimesPerLine(buf: Uint8Array): number {
  let max = 0;
  let p = 0;
  const len = buf.length;
  while (p < len) {
    let eol = buf.indexOf(10, p);
    if (eol === -1) eol = len;
    if (buf[p] !== 35 /* # */) {
      const tab = buf.lastIndexOf(9, eol - 1);
      if (tab >= p) {
        let n = 0;
        let last = -1;
        for (let q = tab + 1; q < eol; q++) {
          const c = buf[q]!;
          if (c === 44) n++;
          if (c !== 32 && c !== 13) last = c;
        }
        if (last !== -1 && last !== 44) n++;
        if (n > max) max = n;
      }
    }
    p = eol + 1;
  }
  return max;
}

/** Spike detection: t[i] wherever v[i-1] < threshold <= v[i]. `values` is time-major. */
export function detectSpikes(time: Float64Array, values: Float64Array, nCols: number, col: number, threshold: number): number[] {
  const out: number[] = [];
  const nT = time.length;
  let prev = values[col]!;
  for (let i = 1; i < nT; i++) {
    const v = values[i * nCols + col]!;
    if (prev < threshold && v >= threshold) out.push(time[i]!);
    prev = v;
  }
  return out;
}

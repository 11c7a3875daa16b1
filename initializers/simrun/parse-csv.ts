/**
 * Parsers for the raw simrun CSV files, working on the file's bytes: the voltage traces here,
 * the activation files in parse-activations.ts. Every error names the file and the 1-based line,
 * and carries the offending token.
 */
import { fail } from './input-problem.js';
import { numEnd, readNumber, tokenAt } from './numbers.js';
import { CUT_OFF } from './parse-activations.js';

export { type InputProblem, InputProblemError } from './input-problem.js';
export {
  type ActivationBlock, type Strings, checkActivationComplete, maxTimesPerLine, parseActivationFiles,
} from './parse-activations.js';
export { type ActivationColumns, parseActivationCsv } from './activation-file.js';

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
 *
 * The first data row (which sets the width) and the other rows are read by separate functions,
 * each one loop over rows: V8 compiles a hot loop on stack (OSR) with its whole function, and a
 * function with several hot loops was compiled five times per thread (~65 ms of compiler time).
 */
export function parseTraceCsv(buf: Uint8Array, file: string): TraceMatrix {
  const len = buf.length;
  checkFinalNewline(buf, file);
  let headerEnd = buf.indexOf(10);
  if (headerEnd === -1) headerEnd = len;
  const hdr = headerFields(buf, headerEnd > 0 && buf[headerEnd - 1] === 13 ? headerEnd - 1 : headerEnd);
  const first = firstRow(buf, headerEnd + 1, file);
  if (first === undefined) fail(file, 'no data rows after the header', 1);
  const nFields = first.values.length;
  if (hdr !== -1 && hdr !== nFields) fail(file, `the header has ${hdr} tab-separated fields but this row has ${nFields}`, first.line);
  const nCols = nFields - 1;
  const maxRows = countLines(buf);
  const time = new Float64Array(maxRows);
  const values = new Float64Array(maxRows * nCols);
  time[0] = first.values[0]!;
  for (let j = 1; j < nFields; j++) values[j - 1] = first.values[j]!;
  const rows = otherRows(buf, first.end, first.line, nFields, time, values, file);
  return { time: time.slice(0, rows), values: values.subarray(0, rows * nCols), nTimes: rows, nCols };
}

/** Skip blanks at a line's start; an empty line (or trailing blank lines) is skipped as numpy does. Returns the row's first byte, or `len`. */
function rowStart(buf: Uint8Array, p: number, len: number, at: { line: number }): number {
  while (p < len) {
    at.line++;
    let c = buf[p]!;
    while ((c === 32 || c === 9 || c === 13) && p < len) { p++; c = p < len ? buf[p]! : 10; }
    if (p >= len) return len;
    if (c !== 10) return p;
    p++;
  }
  return len;
}

/** The first data row's values, the line it is on and where the next row starts; undefined when there is none. */
function firstRow(buf: Uint8Array, from: number, file: string): { values: number[]; line: number; end: number } | undefined {
  const len = buf.length;
  const at = { line: 1 };
  let q = rowStart(buf, from, len, at);
  if (q >= len) return undefined;
  const values: number[] = [];
  for (;;) {
    const v = readNumber(buf, q, len);
    if (numEnd === -1) fail(file, `non-numeric value '${tokenAt(buf, q, len)}' in column ${values.length + 1}`, at.line);
    values.push(v);
    q = numEnd;
    let d = q < len ? buf[q]! : 10;
    while (d === 9 || d === 32 || d === 13) { q++; d = q < len ? buf[q]! : 10; }
    if (d === 10) { q++; break; }
    if (d === 44) fail(file, `unexpected ',' in column ${values.length + 1}`, at.line);
  }
  return { values, line: at.line, end: q };
}

/** The rows after the first, into `time` and `values` from row 1 on; returns the number of rows (the first included). */
function otherRows(buf: Uint8Array, from: number, firstLine: number, nFields: number, time: Float64Array, values: Float64Array, file: string): number {
  const len = buf.length;
  const nCols = nFields - 1;
  const at = { line: firstLine };
  let row = 1;
  let p = rowStart(buf, from, len, at);
  while (p < len) {
    const base = row * nCols;
    let f = 0;
    let q = p;
    for (;;) {
      const v = readNumber(buf, q, len);
      if (numEnd === -1) fail(file, `non-numeric value '${tokenAt(buf, q, len)}' in column ${f + 1}`, at.line);
      if (f === 0) time[row] = v;
      else if (f < nFields) values[base + f - 1] = v;
      f++;
      q = numEnd;
      let d = q < len ? buf[q]! : 10;
      while (d === 9 || d === 32 || d === 13) { q++; d = q < len ? buf[q]! : 10; }
      if (d === 10) { q++; break; }
      if (d === 44) fail(file, `unexpected ',' in column ${f + 1}`, at.line);
    }
    if (f !== nFields) fail(file, `ragged row: ${f} fields where the first data row has ${nFields}`, at.line);
    row++;
    p = rowStart(buf, q, len, at);
  }
  return row;
}

/** A trace file ends with a newline (numpy writes one after every row); without it the last row was cut off. */
export function checkFinalNewline(buf: Uint8Array, file: string): void {
  if (buf.length > 0 && buf[buf.length - 1] !== 10) {
    fail(file, `the file ends without its final newline: the last row is cut off (${CUT_OFF})`, countLines(buf));
  }
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

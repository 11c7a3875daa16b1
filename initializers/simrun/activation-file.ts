/**
 * One activation file parsed on its own, its times laid out row by row: the per-file view that
 * the parser tests and the fuzzer use. initSimrun parses a run folder's files together into one
 * ActivationBlock (parse-activations.ts); this goes through the very same parser.
 */
import { activationRows, decodeKeyed, parseActivationFiles, type Strings } from './parse-activations.js';

/** Columns of one activation file (tests, fuzzing): times row by row, `times[timeOffsets[r] ..]`. */
export interface ActivationColumns {
  rows: number;
  type: Strings;
  id: Float64Array;
  somaDistance?: Float64Array;
  sectionId?: Float64Array;
  sectionPtId?: Float64Array;
  dendriteLabel?: Strings;
  times: Float64Array;
  timeOffsets: Int32Array;
  maxTimes: number;
}

/** One file on its own has no trial id: one empty string. */
const NO_TRIAL_ID = { data: new Uint8Array(0), offsets: Int32Array.of(0, 0) };

/** One file through parseActivationFiles, its times laid out row by row. */
export function parseActivationCsv(buf: Uint8Array, file: string, kind: 'synapses' | 'cells'): ActivationColumns {
  const rows = activationRows(buf);
  const counts = new Int32Array(rows);
  const b = parseActivationFiles([{ buf, file }], kind, NO_TRIAL_ID, timesBound(buf), counts);
  const timeOffsets = new Int32Array(rows + 1);
  const times = new Float64Array(counts.reduce((a, n) => a + n, 0));
  for (let r = 0; r < rows; r++) {
    const at = timeOffsets[r]!;
    for (let k = 0; k < counts[r]!; k++) times[at + k] = b.times[k * rows + r]!;
    timeOffsets[r + 1] = at + counts[r]!;
  }
  const toNumbers = (x: BigInt64Array): Float64Array => Float64Array.from(x, Number);
  const out: ActivationColumns = { rows, type: decodeKeyed(b.type), id: toNumbers(b.id), times, timeOffsets, maxTimes: b.maxTimes };
  if (b.somaDistance) out.somaDistance = b.somaDistance;
  if (b.sectionId) out.sectionId = toNumbers(b.sectionId);
  if (b.sectionPtId) out.sectionPtId = toNumbers(b.sectionPtId);
  if (b.dendriteLabel) out.dendriteLabel = decodeKeyed(b.dendriteLabel);
  return out;
}

/** Times a line can hold at most: one per comma or space, plus one. */
function timesBound(buf: Uint8Array): number {
  let max = 1;
  let n = 1;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 44 || c === 32) n++;
    else if (c === 10) { if (n > max) max = n; n = 1; }
  }
  return Math.max(max, n);
}

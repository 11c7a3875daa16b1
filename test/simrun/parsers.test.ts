import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readNumber, numEnd } from '../../initializers/simrun/numbers.js';
import { decodeKeyed } from '../../initializers/simrun/parse-activations.js';
import { stringsOf } from '../../initializers/simrun/parse-folder.js';
import { InputProblemError, parseActivationCsv, parseActivationFiles, parseTraceCsv, maxTimesPerLine, detectSpikes } from '../../initializers/simrun/parse-csv.js';
import { pyFloatRepr } from '../../initializers/simrun/pyfloat.js';
import { PyTuple, findReferences, parsePyLiteral, toPyLiteral } from '../../initializers/simrun/param-file.js';

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

function problem(fn: () => unknown): { file: string; reason: string; line?: number } {
  try { fn(); } catch (e) { if (e instanceof InputProblemError) return e.problem; throw e; }
  throw new Error('expected an input problem');
}

describe('numbers', () => {
  it('reads every token exactly as Number() does', () => {
    const toks = ['100.0', '-61.466580917600005', '0.0000326', '1e-05', '-1.5E+3', '3', '-0', '123456789012345678', '0.1', '9007199254740993', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308'];
    for (const t of toks) {
      const b = bytes(`${t}\t`);
      const v = readNumber(b, 0, b.length);
      expect(Object.is(v, Number(t)), t).toBe(true);
      expect(numEnd).toBe(t.length);
    }
    let seed = 7;
    const r = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
    for (let i = 0; i < 20000; i++) {
      const x = (r() - 0.5) * 10 ** Math.floor(r() * 12 - 4);
      const t = String(x);
      const b = bytes(t);
      expect(readNumber(b, 0, b.length)).toBe(x);
    }
  });
  it('equals Python float() (Number(), nan/inf spelled as Python does) on random and edge-case tokens, before every delimiter', () => {
    // the fast path (<= 18 digits, mantissa < 2^53, power of ten <= 22) and the full one must agree with a correctly rounded parse
    const pyFloat = (t: string): number => {
      const low = t.toLowerCase().replace(/^\+/, '');
      if (low === 'nan' || low === '-nan') return NaN;
      if (low === 'inf' || low === 'infinity') return Infinity;
      if (low === '-inf' || low === '-infinity') return -Infinity;
      return Number(t);
    };
    let seed = 11;
    const r = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
    const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(r() * 10))).join('');
    const toks = [
      '0', '-0', '0.0', '-0.0', '.5', '5.', '-.5', '+1', '+0.25', '1e5', '1E-5', '1e+308', '1e309', '2e-324', '4.9e-324', '1e-400',
      '9007199254740992', '9007199254740993', '9007199254740992.5', '900719925474099.3', '0.30000000000000004', '123456789012345678',
      '1234567890123456789012345', '0.000000000000000000000000000001', '1e22', '1e23', '12345678901234567e-22', '000000000000000000001.5',
      '-65.58655607339999', '-65.490258237300011', '99999999999999999', '999999999.999999999', '1.7976931348623157e308', '1.8e308',
      'nan', 'NaN', '-nan', '+nan', 'inf', '-inf', 'Infinity', '-Infinity', '+inf', '+Infinity', 'INF',
    ];
    for (let i = 0; i < 3000; i++) {
      const x = (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
      toks.push(String(x), x.toPrecision(1 + Math.floor(r() * 21)), x.toExponential(Math.floor(r() * 20)), x.toFixed(Math.floor(r() * 20)));
      // 12 significant digits, as ISF's Python 2 str(float) writes them
      toks.push(x.toPrecision(12), Number(x.toPrecision(12)).toString());
      // digit strings of every length, with and without a point, sign and exponent
      const n = 1 + Math.floor(r() * 25);
      const d = digits(n);
      const at = Math.floor(r() * (n + 1));
      const sign = r() < 0.3 ? '-' : r() < 0.1 ? '+' : '';
      const expo = r() < 0.2 ? `e${r() < 0.5 ? '-' : ''}${Math.floor(r() * 30)}` : '';
      toks.push(`${sign}${d.slice(0, at)}${at < n || r() < 0.5 ? '.' : ''}${d.slice(at)}${expo}`);
    }
    for (const t of toks) {
      for (const delim of ['\t', ',', '\n', ' ', '\r', '']) {
        const b = bytes(`${t}${delim}`);
        const v = readNumber(b, 0, b.length);
        expect(Object.is(v, pyFloat(t)), `${t} -> ${v}, want ${pyFloat(t)}`).toBe(true);
        expect(numEnd, t).toBe(t.length);
      }
    }
  });
  it('flags non-numbers', () => {
    for (const t of ['12a3', '1.2.3', '-', '.', '1e', '1e+', '--1', '1-2', 'abc', '0x10', '-0x10', '0b1', '0o7', ' 1', 'infinite']) {
      const b = bytes(`${t}\t`);
      readNumber(b, 0, b.length);
      expect(numEnd, t).toBe(-1);
    }
  });
});

describe('pyFloatRepr', () => {
  it('matches Python repr', () => {
    const cases: [number, string][] = [[100, '100.0'], [100.025, '100.025'], [0, '0.0'], [-0, '-0.0'], [1e-5, '1e-05'], [1.5e-7, '1.5e-07'], [1e16, '1e+16'], [1.2345e17, '1.2345e+17'], [123456789012345, '123456789012345.0'], [0.0001, '0.0001'], [0.025 * 3, '0.07500000000000001'], [1e22, '1e+22'], [5e-324, '5e-324'], [NaN, 'nan']];
    for (const [x, s] of cases) expect(pyFloatRepr(x)).toBe(s);
  });
  it('matches python3 on random values when python3 is present', () => {
    let out: string;
    try {
      out = execFileSync('python3', ['-c', 'import random\nrandom.seed(3)\nxs=[random.uniform(-1,1)*10**random.randint(-30,30) for _ in range(2000)]+[0.025*k for k in range(3000)]\nprint("\\n".join(repr(x) for x in xs))'], { encoding: 'utf8' });
    } catch {
      console.warn('skipped: python3 not available');
      return;
    }
    for (const s of out.trim().split('\n')) expect(pyFloatRepr(Number(s))).toBe(s);
  });
});

describe('parseTraceCsv', () => {
  it('parses a trace file time-major', () => {
    const m = parseTraceCsv(bytes('t\tVm run 00\tVm run 01\n100.0\t-61.5\t-55.1\n100.025\t-61.4\t-55.2\n'), 'f.csv');
    expect(m.nTimes).toBe(2);
    expect(m.nCols).toBe(2);
    expect([...m.time]).toEqual([100, 100.025]);
    expect([...m.values]).toEqual([-61.5, -55.1, -61.4, -55.2]);
  });
  it('names file and line for non-numeric values and ragged rows', () => {
    expect(problem(() => parseTraceCsv(bytes('t\tVm run 00\n1.0\t2.0\n1.025\tabc\n'), 'f.csv'))).toMatchObject({ file: 'f.csv', line: 3, reason: expect.stringContaining("non-numeric value 'abc'") });
    expect(problem(() => parseTraceCsv(bytes('t\tVm run 00\tVm run 01\n1.0\t2.0\t3.0\n1.025\t2.0\n'), 'f.csv'))).toMatchObject({ line: 3, reason: expect.stringContaining('ragged row') });
    expect(problem(() => parseTraceCsv(bytes('t\tVm run 00\tVm run 01\n1.0\t2.0\n'), 'f.csv'))).toMatchObject({ line: 2 });
  });
  it('skips blank lines as numpy does, and still counts them in the line it names', () => {
    const text = 't\tVm run 00\n\n  1.0\t2.0\r\n\n \t\n1.025\t2.5\n\n';
    const m = parseTraceCsv(bytes(text), 'f.csv');
    expect([...m.time]).toEqual([1, 1.025]);
    expect([...m.values]).toEqual([2, 2.5]);
    expect(problem(() => parseTraceCsv(bytes('t\tVm run 00\n\n1.0\t2.0\n\n1.025\tx\n'), 'f.csv'))).toMatchObject({ line: 5, reason: expect.stringContaining("non-numeric value 'x'") });
    expect(problem(() => parseTraceCsv(bytes('t\tVm run 00\n\n\nabc\t2.0\n'), 'f.csv'))).toMatchObject({ line: 4 });
    expect(problem(() => parseTraceCsv(bytes('t\tVm run 00\n\n \n'), 'f.csv'))).toMatchObject({ line: 1, reason: expect.stringContaining('no data rows') });
    // the first data row sets the width: checked against the header, and every later row against it
    expect(problem(() => parseTraceCsv(bytes('t\tVm run 00\n\n\n1.0\t2.0\t3.0\n'), 'f.csv'))).toMatchObject({ line: 4, reason: expect.stringContaining('the header has 2') });
    expect(problem(() => parseTraceCsv(bytes('t\tVm run 00\n1.0\t2.0\n\n \n1.025\t2.0\t9\n'), 'f.csv'))).toMatchObject({ line: 5, reason: expect.stringContaining('ragged row') });
  });
});

describe('parseActivationCsv', () => {
  it('parses synapse rows, with and without trailing newline, empty time lists', () => {
    const a = parseActivationCsv(bytes('# synapse type\tsynapse ID\tsoma distance\tsection ID\tsection pt ID\tdendrite label\tactivation times\nL1_C1\t19\t1539.71545505\t50\t80\tApicalDendrite\t14.3144635349,\nL4ss_C2\t3\t12.5\t1\t2\tBasal\t1.0,2.5,3.75,'), 'syn.csv', 'synapses');
    expect(a.rows).toBe(2);
    expect([...a.id]).toEqual([19, 3]);
    expect([...a.somaDistance!]).toEqual([1539.71545505, 12.5]);
    expect([...a.times]).toEqual([14.3144635349, 1, 2.5, 3.75]);
    expect([...a.timeOffsets]).toEqual([0, 1, 4]);
    expect(a.maxTimes).toBe(3);
    expect(new TextDecoder().decode(a.dendriteLabel!.data)).toBe('ApicalDendriteBasal');
  });
  it('reports ragged and non-numeric rows with their line', () => {
    expect(problem(() => parseActivationCsv(bytes('# h\nL1\t1\t2.0\t3\n'), 's.csv', 'synapses'))).toMatchObject({ line: 2, reason: expect.stringContaining('ragged row') });
    expect(problem(() => parseActivationCsv(bytes('# h\nL1\t1\t2.0\t3\t4\tA\t1.0,x,\n'), 's.csv', 'synapses'))).toMatchObject({ line: 2, reason: expect.stringContaining("'x'") });
    expect(problem(() => parseActivationCsv(bytes('# h\nL1\tone\t1.0,\n'), 'c.csv', 'cells'))).toMatchObject({ line: 2, reason: expect.stringContaining('non-integer ID') });
  });
  it('parses a folder\'s files into one block: trial index, int64 IDs, column-major NaN-padded times', () => {
    const a = bytes('# h\nL1\t5\t10.5\t1\t2\tBasal\t1.0,2.0,\nL2\t-3\t11.25\t3\t4\tApical\t\n');
    const b = bytes('# h\nL1\t4294967301\t12.0\t5\t6\tBasal\t7.5,\r\n\nL1\t2\t13.0\t7\t8\tBasal\t8.5,9.5,10.5,');
    const k = parseActivationFiles([{ buf: a, file: 'a.csv' }, { buf: b, file: 'b.csv' }], 'synapses', stringsOf(['run/0', 'run/1']), 4);
    expect(k.rows).toBe(4);
    const strings = (x: { data: Uint8Array; offsets: Int32Array }): string[] => Array.from({ length: x.offsets.length - 1 }, (_, i) => new TextDecoder().decode(x.data.subarray(x.offsets[i], x.offsets[i + 1])));
    expect(strings(decodeKeyed(k.index))).toEqual(['run/0', 'run/0', 'run/1', 'run/1']);
    expect(strings(decodeKeyed(k.type))).toEqual(['L1', 'L2', 'L1', 'L1']);
    expect(strings(decodeKeyed(k.dendriteLabel!))).toEqual(['Basal', 'Apical', 'Basal', 'Basal']);
    // each distinct string stored once, rows by key
    expect([...k.type.keys]).toEqual([0, 1, 0, 0]);
    expect(strings(k.index.values)).toEqual(['run/0', 'run/1']);
    expect([...k.id]).toEqual([5n, -3n, 4294967301n, 2n]);
    expect([...k.sectionId!]).toEqual([1n, 3n, 5n, 7n]);
    expect([...k.sectionPtId!]).toEqual([2n, 4n, 6n, 8n]);
    expect([...k.somaDistance!]).toEqual([10.5, 11.25, 12, 13]);
    // column k holds the k-th time of every row
    expect([...k.times]).toEqual([1, NaN, 7.5, 8.5, 2, NaN, NaN, 9.5, NaN, NaN, NaN, 10.5, NaN, NaN, NaN, NaN]);
    expect(k.width).toBe(4);
    expect(k.maxTimes).toBe(3);
    const cells = parseActivationFiles([{ buf: bytes('# h\nA\t1\t1.5,\nB\t2\n'), file: 'c.csv' }], 'cells', stringsOf(['t']), 1);
    expect([...cells.id]).toEqual([1n, 2n]);
    expect([...cells.times]).toEqual([1.5, NaN]);
    expect(cells.somaDistance).toBeUndefined();
    // a row wider than the check pass found is refused, naming its file and line
    expect(problem(() => parseActivationFiles([{ buf: a, file: 'a.csv' }, { buf: b, file: 'b.csv' }], 'synapses', stringsOf(['x', 'y']), 2)))
      .toMatchObject({ file: 'b.csv', line: 4, reason: expect.stringContaining('more than the 2 activation times') });
  });
  it('keys many distinct types in any order (past the few compared one by one), look-alikes apart', () => {
    const next = (() => { let x = 7; return () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 2 ** 32; }; })();
    // 40 types, some differing only in their last byte or in length, some with bytes above 127
    const types = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? `L${i}_C2` : i % 3 === 1 ? `L${i}_C2x` : `Ä${i}é`));
    const rows = Array.from({ length: 3000 }, () => types[Math.floor(next() * types.length)]!);
    const text = `# h\n${rows.map((t, i) => `${t}\t${i}\t1.5\t1\t2\t${i % 2 ? 'Basal' : 'Apical'}\t1.0,`).join('\n')}`;
    const k = parseActivationFiles([{ buf: bytes(text), file: 's.csv' }], 'synapses', stringsOf(['t']), 1);
    const strings = (x: { data: Uint8Array; offsets: Int32Array }): string[] => Array.from({ length: x.offsets.length - 1 }, (_, i) => new TextDecoder().decode(x.data.subarray(x.offsets[i], x.offsets[i + 1])));
    expect(strings(decodeKeyed(k.type))).toEqual(rows);
    expect(new Set(strings(k.type.values)).size).toBe(k.type.values.offsets.length - 1);
    expect(k.type.values.offsets.length - 1).toBe(new Set(rows).size);
    expect(strings(decodeKeyed(k.dendriteLabel!))).toEqual(rows.map((_, i) => (i % 2 ? 'Basal' : 'Apical')));
  });
  it('reads rows the one-pass path takes and rows it hands to the field-by-field path alike', () => {
    // CRLF, a blank line, a comment, 'nan' and spaces in the times, an ID followed by junk before its tab
    // (accepted as ISF's reader does not check it), a cell row without times, the last row without newline
    const syn = parseActivationCsv(bytes('# h\r\nA\t1\t1.5\t2\t3\tB\tnan, 1e-3 ,\r\n\r\n# c\nA\t12 3\t2.5\t4\t5\tC\t7,\nA\t-4\t-0.0\t6\t7\tD\t8'), 's.csv', 'synapses');
    expect(syn.rows).toBe(3);
    expect([...syn.id]).toEqual([1, 12, -4]);
    expect(syn.somaDistance!.map((v) => (Object.is(v, -0) ? 99 : v))).toEqual(Float64Array.of(1.5, 2.5, 99));
    expect([...syn.times]).toEqual([NaN, 0.001, 7, 8]);
    expect([...syn.timeOffsets]).toEqual([0, 2, 3, 4]);
    expect(new TextDecoder().decode(syn.dendriteLabel!.data)).toBe('BCD');
    const cells = parseActivationCsv(bytes('# h\r\nA\t1\r\nB\t-2\t5.5,\r\nC\t3\t\r\nD\t4'), 'c.csv', 'cells');
    expect([...cells.id]).toEqual([1, -2, 3, 4]);
    expect([...cells.timeOffsets]).toEqual([0, 0, 1, 1, 1]);
    expect([...cells.times]).toEqual([5.5]);
    // a lone carriage return inside the times is an error on its line, as before
    expect(problem(() => parseActivationCsv(bytes('# h\nA\t1\t1.0,\r2.0,\n'), 'c.csv', 'cells'))).toMatchObject({ line: 2, reason: expect.stringContaining('non-numeric activation time') });
  });
  it('pre-pass width equals the parsed maximum', () => {
    const text = '# h\nA\t1\t1.0,2.0,\nB\t2\t1.0,2.0,3.0\nC\t3\t\n';
    expect(maxTimesPerLine(bytes(text))).toBe(3);
    expect(parseActivationCsv(bytes(text), 'c', 'cells').maxTimes).toBe(3);
  });
});

describe('spike detection', () => {
  it('marks t[i] where v[i-1] < thr <= v[i]', () => {
    const time = Float64Array.from([0, 1, 2, 3, 4, 5]);
    const values = Float64Array.from([-10, 0, 5, -3, 0, 1]);
    expect(detectSpikes(time, values, 1, 0, 0)).toEqual([1, 4]);
  });
});

describe('parameter files', () => {
  it('parses Python literals, keeping quotes, parentheses and # inside strings', () => {
    const v = parsePyLiteral(`{
      'a': 'x(1).hoc', "b": "it's \\"quoted\\" (and, commas)", # comment
      'c': (1, 2.5, -3e-2,), 'd': [True, False, None,], 'e': {'f': 'hash # not a comment'},
      'g': ('single',), 'h': 'adjacent' ' strings',
    }`) as Record<string, unknown>;
    expect(v['a']).toBe('x(1).hoc');
    expect(v['b']).toBe('it\'s "quoted" (and, commas)');
    expect(v['c']).toBeInstanceOf(PyTuple);
    expect((v['c'] as PyTuple).items).toEqual([1, 2.5, -0.03]);
    expect(v['d']).toEqual([true, false, null]);
    expect(v['e']).toEqual({ f: 'hash # not a comment' });
    expect(v['h']).toBe('adjacent strings');
    const again = parsePyLiteral(toPyLiteral(v as never));
    expect(toPyLiteral(again)).toBe(toPyLiteral(v as never));
  });
  it('reports the line of a syntax error', () => {
    expect(() => parsePyLiteral("{\n 'a': 1,\n 'b': [1 2],\n}")).toThrow(/expected ','/);
    try { parsePyLiteral("{\n 'a': 1,\n 'b': [1 2],\n}"); } catch (e) { expect((e as { line: number }).line).toBe(3); }
  });
  it('finds the referenced files', () => {
    const neuron = parsePyLiteral("{'neuron': {'filename': '/a/c.hoc'}, 'sim': {'recordingSites': ['/a/r.landmarkAscii']}}");
    expect(findReferences(neuron, 'neuron').map((r) => [r.kind, r.path])).toEqual([['morphology', '/a/c.hoc'], ['recsites', '/a/r.landmarkAscii']]);
    const net = parsePyLiteral('{"network": {"L4": {"synapses": {"distributionFile": "/s.syn", "connectionFile": "/c.con"}}}}');
    expect(findReferences(net, 'network').map((r) => r.kind)).toEqual(['syn', 'con']);
  });
});

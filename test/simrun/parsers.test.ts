import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readNumber, numEnd } from '../../initializers/simrun/numbers.js';
import { InputProblemError, parseActivationCsv, parseTraceCsv, maxTimesPerLine, detectSpikes } from '../../initializers/simrun/parse-csv.js';
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
  it('flags non-numbers', () => {
    const b = bytes('12a3\t');
    readNumber(b, 0, b.length);
    expect(numEnd).toBe(-1);
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

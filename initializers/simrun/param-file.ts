/**
 * ISF parameter files: Python-literal flavoured JSON (single or double quotes, trailing commas,
 * tuples, True/False/None, `#` comments). A real tokenizer, so parentheses, quotes, commas and
 * '#' inside strings are kept as they are (ISF's regex-based converter mangles those).
 */

export type PyValue =
  | string | number | boolean | null
  | PyValue[]
  | PyTuple
  | { [k: string]: PyValue };

/** A Python tuple: kept apart from lists so that writing the file back keeps `( )`. */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class ParamSyntaxError extends Error {
  constructor(readonly reason: string, readonly line: number) {
    super(reason);
  }
}

/** Where each string value sits in the text: JSON of its path (keys / list indexes) -> [start, end). */
export type StringSpans = Map<string, [number, number]>;

const MAX_NESTING = 200;

export function parsePyLiteral(text: string, spans?: StringSpans): PyValue {
  let p = 0;
  const n = text.length;

  function lineAt(pos: number): number {
    let l = 1;
    for (let i = 0; i < pos && i < n; i++) if (text.charCodeAt(i) === 10) l++;
    return l;
  }
  function err(reason: string, pos = p): never {
    throw new ParamSyntaxError(reason, lineAt(pos));
  }
  function ws(): void {
    while (p < n) {
      const c = text[p]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') p++;
      else if (c === '\\' && (text[p + 1] === '\n' || text[p + 1] === '\r')) p += 2;
      else if (c === '#') { while (p < n && text[p] !== '\n') p++; }
      else break;
    }
  }
  function str(): string {
    const q = text[p]!;
    const triple = text.startsWith(q.repeat(3), p);
    const start = p;
    p += triple ? 3 : 1;
    let out = '';
    for (;;) {
      if (p >= n) err(`unterminated string`, start);
      const c = text[p]!;
      if (triple ? text.startsWith(q.repeat(3), p) : c === q) { p += triple ? 3 : 1; return out; }
      if (!triple && c === '\n') err('line break inside a string', start);
      if (c === '\\') {
        const d = text[p + 1];
        p += 2;
        switch (d) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case '0': out += '\0'; break;
          case '\\': out += '\\'; break;
          case "'": out += "'"; break;
          case '"': out += '"'; break;
          case '\n': break;
          case 'x': out += String.fromCharCode(parseInt(text.slice(p, p + 2), 16)); p += 2; break;
          case 'u': out += String.fromCharCode(parseInt(text.slice(p, p + 4), 16)); p += 4; break;
          default: out += `\\${d ?? ''}`;
        }
        continue;
      }
      out += c;
      p++;
    }
  }
  function seq(close: string, at: (string | number)[], depth: number): PyValue[] {
    const items: PyValue[] = [];
    for (;;) {
      ws();
      if (text[p] === close) { p++; return items; }
      items.push(value(spans ? [...at, items.length] : at, depth + 1));
      ws();
      if (text[p] === ',') { p++; continue; }
      if (text[p] === close) { p++; return items; }
      err(`expected ',' or '${close}'`);
    }
  }
  function value(at: (string | number)[] = [], depth = 0): PyValue {
    ws();
    if (p >= n) err('unexpected end of file');
    // A real parameter file nests a few levels; deep nesting is damage, and would overflow the stack.
    if (depth > MAX_NESTING) err(`values nested more than ${MAX_NESTING} levels deep`);
    const c = text[p]!;
    if (c === '{') {
      p++;
      const obj: { [k: string]: PyValue } = {};
      for (;;) {
        ws();
        if (text[p] === '}') { p++; return obj; }
        const kpos = p;
        const k = value(at, depth + 1);
        if (typeof k !== 'string' && typeof k !== 'number') err('a dictionary key must be a string or a number', kpos);
        ws();
        if (text[p] !== ':') err(`expected ':' after key ${JSON.stringify(k)}`);
        p++;
        obj[String(k)] = value(spans ? [...at, String(k)] : at, depth + 1);
        ws();
        if (text[p] === ',') { p++; continue; }
        if (text[p] === '}') { p++; return obj; }
        err(`expected ',' or '}'`);
      }
    }
    if (c === '[') { p++; return seq(']', at, depth); }
    if (c === '(') {
      p++;
      const items = seq(')', at, depth);
      return new PyTuple(items);
    }
    if (c === "'" || c === '"') {
      // adjacent literals concatenate, as in Python
      const start = p;
      let s = str();
      for (;;) {
        const save = p;
        ws();
        if (text[p] === "'" || text[p] === '"') s += str();
        else {
          p = save;
          spans?.set(JSON.stringify(at), [start, p]);
          return s;
        }
      }
    }
    const m = /^[-+]?(?:inf|nan|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?)/.exec(text.slice(p, p + 64));
    if (m) {
      p += m[0].length;
      const t = m[0].replace(/_/g, '');
      if (/^[-+]?0[xob]/i.test(t)) err(`unsupported number '${t}'`);
      return t.endsWith('inf') ? (t.startsWith('-') ? -Infinity : Infinity) : t.endsWith('nan') ? NaN : Number(t);
    }
    for (const [word, v] of [['True', true], ['False', false], ['None', null], ['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, p) && !/[A-Za-z0-9_]/.test(text[p + word.length] ?? '')) {
        p += word.length;
        return v;
      }
    }
    err(`unexpected '${text.slice(p, p + 20).split('\n')[0]}'`);
  }

  const v = value();
  ws();
  if (p < n) err(`unexpected text after the value: '${text.slice(p, p + 20).split('\n')[0]}'`);
  return v;
}

function reprStr(s: string): string {
  let out = "'";
  for (const ch of s) {
    if (ch === "'") out += "\\'";
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else out += ch;
  }
  return `${out}'`;
}

function reprNum(x: number): string {
  if (Number.isNaN(x)) return "float('nan')";
  if (!Number.isFinite(x)) return x > 0 ? "float('inf')" : "-float('inf')";
  return String(x);
}

/** Write a value back as a Python literal (readable by ISF and by `parsePyLiteral`). */
export function toPyLiteral(v: PyValue, indent = ''): string {
  const inner = `${indent}    `;
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return reprNum(v);
  if (typeof v === 'string') return reprStr(v);
  if (v instanceof PyTuple) {
    if (v.items.length === 1) return `(${toPyLiteral(v.items[0]!, inner)},)`;
    return `(${v.items.map((x) => toPyLiteral(x, inner)).join(', ')})`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => toPyLiteral(x, inner)).join(', ')}]`;
  const keys = Object.keys(v);
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${inner}${reprStr(k)}: ${toPyLiteral(v[k]!, inner)},\n`).join('')}${indent}}`;
}

function isDict(v: PyValue | undefined): v is { [k: string]: PyValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof PyTuple);
}

/** A file path named by a parameter file, with where it sits so it can be rewritten. */
export interface ParamReference {
  kind: 'morphology' | 'recsites' | 'syn' | 'con';
  /** the path as written in the file */
  path: string;
  /** where: a list of keys from the root, a number being a list index */
  at: (string | number)[];
}

/** The files a neuron (`neuron.filename`, `sim.recordingSites`) or network parameter file names. */
export function findReferences(v: PyValue, which: 'neuron' | 'network'): ParamReference[] {
  const refs: ParamReference[] = [];
  if (!isDict(v)) return refs;
  if (which === 'neuron') {
    const neuron = v['neuron'];
    if (isDict(neuron) && typeof neuron['filename'] === 'string') {
      refs.push({ kind: 'morphology', path: neuron['filename'], at: ['neuron', 'filename'] });
    }
    const sim = v['sim'];
    if (isDict(sim)) {
      const rs = sim['recordingSites'];
      const items = Array.isArray(rs) ? rs : rs instanceof PyTuple ? rs.items : [];
      items.forEach((s, i) => {
        if (typeof s === 'string') refs.push({ kind: 'recsites', path: s, at: ['sim', 'recordingSites', i] });
      });
    }
  } else {
    const net = v['network'];
    if (isDict(net)) {
      for (const cellType of Object.keys(net)) {
        const ct = net[cellType];
        if (!isDict(ct)) continue;
        const syn = ct['synapses'];
        if (!isDict(syn)) continue;
        if (typeof syn['distributionFile'] === 'string') {
          refs.push({ kind: 'syn', path: syn['distributionFile'], at: ['network', cellType, 'synapses', 'distributionFile'] });
        }
        if (typeof syn['connectionFile'] === 'string') {
          refs.push({ kind: 'con', path: syn['connectionFile'], at: ['network', cellType, 'synapses', 'connectionFile'] });
        }
      }
    }
  }
  return refs;
}

/**
 * Replace string values in the original text (everything else, comments and number spellings
 * such as `1.0` included, stays byte for byte).
 */
export function replaceStrings(text: string, spans: StringSpans, replacements: { at: (string | number)[]; value: string }[]): string {
  const edits = replacements.map((r) => {
    const span = spans.get(JSON.stringify(r.at));
    if (!span) throw new Error(`internal: no string at ${JSON.stringify(r.at)}`);
    return { span, value: r.value };
  }).sort((a, b) => b.span[0] - a.span[0]);
  let out = text;
  for (const { span, value } of edits) out = out.slice(0, span[0]) + toPyLiteral(value) + out.slice(span[1]);
  return out;
}

/** Set the value at `at` (a path of keys / list indexes) in place. */
export function setAt(root: PyValue, at: (string | number)[], value: PyValue): void {
  let node: PyValue = root;
  for (let i = 0; i < at.length - 1; i++) {
    const k = at[i]!;
    node = (node instanceof PyTuple ? node.items[k as number] : (node as Record<string, PyValue>)[k as string])!;
  }
  const last = at[at.length - 1]!;
  if (node instanceof PyTuple) node.items[last as number] = value;
  else if (Array.isArray(node)) node[last as number] = value;
  else (node as Record<string, PyValue>)[last as string] = value;
}

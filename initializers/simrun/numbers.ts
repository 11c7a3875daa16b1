/**
 * Byte-level number parsing for the raw CSV files. A number is read straight from the file's
 * bytes; when its digits fit a double exactly (mantissa <= 2^53, power of ten <= 22) one
 * multiplication or division gives the correctly rounded value; otherwise (17-digit Python
 * reprs, huge exponents) the token is handed to JS's own correctly rounded `Number()`.
 * Either way the result equals Python's `float(token)`.
 */

const POW10: number[] = [];
for (let i = 0; i <= 22; i++) POW10.push(Number(`1e${i}`));
const TWO53 = 2 ** 53;

/** Position right after the last token read by `readNumber` (module state: no allocation). */
export let numEnd = 0;

const latin1 = new TextDecoder('latin1');

function isDelim(c: number): boolean {
  // tab, space, newline, carriage return, comma
  return c === 9 || c === 32 || c === 10 || c === 13 || c === 44;
}

/**
 * Read one number starting at `p` (no leading blanks). Returns NaN and sets `numEnd = -1` when
 * the token is not a number. A token ends at a tab, space, comma, newline or `end`.
 *
 * The fast path takes what simrun writes (`[-]digits[.digits]`, at most 18 digits): digits are
 * gathered in two int32 halves of 9 digits (integer multiply-adds, not a dependent chain of
 * double operations, which cost ~3 ns a digit), then one exact combination and, when the
 * mantissa is below 2^53 and the power of ten at most 22, one correctly rounded division or
 * multiplication (Clinger's fast path). Anything else (exponents, longer mantissas, 'nan')
 * goes to `readNumberFull` from the token's start. Both give exactly `Number(token)`.
 */
export function readNumber(buf: Uint8Array, p: number, end: number): number {
  const start = p;
  let c = p < end ? buf[p]! : 10;
  const neg = c === 45; /* - */
  if (neg) { p++; c = p < end ? buf[p]! : 10; }
  let hi = 0;
  let lo = 0;
  let digits = 0;
  let dot = -1;
  for (;;) {
    const d = c - 48;
    if (d >= 0 && d <= 9) {
      if (digits < 9) hi = hi * 10 + d;
      else lo = lo * 10 + d;
      digits++;
    } else if (c === 46 /* . */ && dot < 0) dot = digits;
    else break;
    p++;
    c = p < end ? buf[p]! : 10;
  }
  // a delimiter (tab, newline, comma, space, carriage return) must follow, at most 18 digits
  if (digits === 0 || digits > 18 || !(c === 9 || c === 10 || c === 44 || c === 32 || c === 13)) return readNumberFull(buf, start, end);
  const m = digits > 9 ? hi * POW10[digits - 9]! + lo : hi;
  const frac = dot < 0 ? 0 : digits - dot;
  if (m >= TWO53 || frac > 22) return readNumberFull(buf, start, end);
  numEnd = p;
  const v = frac === 0 ? m : m / POW10[frac]!;
  return neg ? -v : v;
}

/** `readNumber` for every token Python's float() reads: signs, exponents, any digit count, nan/inf. */
export function readNumberFull(buf: Uint8Array, p: number, end: number): number {
  const start = p;
  let neg = false;
  let c = p < end ? buf[p]! : 10;
  if (c === 45 /* - */) { neg = true; p++; } else if (c === 43 /* + */) p++;
  let m = 0;
  let exp = 0;
  let digits = 0;
  let exact = true;
  c = p < end ? buf[p]! : 10;
  while (c >= 48 && c <= 57) {
    m = m * 10 + (c - 48);
    digits++;
    p++;
    c = p < end ? buf[p]! : 10;
  }
  if (c === 46 /* . */) {
    p++;
    c = p < end ? buf[p]! : 10;
    while (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      exp--;
      p++;
      c = p < end ? buf[p]! : 10;
    }
  }
  if (digits === 0) return slow(buf, start, end);
  if (c === 101 || c === 69 /* e E */) {
    p++;
    c = p < end ? buf[p]! : 10;
    let eneg = false;
    if (c === 45) { eneg = true; p++; } else if (c === 43) p++;
    c = p < end ? buf[p]! : 10;
    let e = 0;
    let ed = 0;
    while (c >= 48 && c <= 57) {
      e = e * 10 + (c - 48);
      ed++;
      p++;
      c = p < end ? buf[p]! : 10;
    }
    if (ed === 0) return slow(buf, start, end);
    exp += eneg ? -e : e;
  }
  if (!isDelim(c)) return slow(buf, start, end);
  // m below 2^53 is exact (every integer there is a double); at 2^53 it may have been rounded
  if (m >= TWO53 || exp < -22 || exp > 22) exact = false;
  numEnd = p;
  if (!exact) return Number(latin1.decode(buf.subarray(start, p)));
  const v = exp < 0 ? m / POW10[-exp]! : exp > 0 ? m * POW10[exp]! : m;
  return neg ? -v : v;
}

function slow(buf: Uint8Array, start: number, end: number): number {
  let p = start;
  while (p < end && !isDelim(buf[p]!)) p++;
  const tok = latin1.decode(buf.subarray(start, p)).trim();
  const low = tok.toLowerCase();
  numEnd = p;
  if (low === 'nan' || low === '+nan' || low === '-nan') return NaN;
  if (low === 'inf' || low === '+inf' || low === 'infinity' || low === '+infinity') return Infinity;
  if (low === '-inf' || low === '-infinity') return -Infinity;
  // Number() also reads hex, binary and octal literals ('0x1f'), which Python's float() refuses
  const v = tok === '' || /^[+-]?0[xXbBoO]/.test(tok) ? NaN : Number(tok);
  if (Number.isNaN(v)) numEnd = -1;
  return v;
}

/** Read a decimal integer token (optionally signed); NaN and `numEnd = -1` when it is not one. */
export function readInt(buf: Uint8Array, p: number, end: number): number {
  const start = p;
  let neg = false;
  let c = p < end ? buf[p]! : 10;
  if (c === 45) { neg = true; p++; } else if (c === 43) p++;
  let v = 0;
  let d = 0;
  c = p < end ? buf[p]! : 10;
  while (c >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    d++;
    p++;
    c = p < end ? buf[p]! : 10;
  }
  if (d === 0 || !isDelim(c)) {
    // ISF's pandas reads these columns as int64; a float-looking integer (e.g. '3.0') is refused.
    numEnd = -1;
    while (p < end && !isDelim(buf[p]!)) p++;
    void start;
    return NaN;
  }
  numEnd = p;
  return neg ? -v : v;
}

/** The printable token at `p` (for error messages). */
export function tokenAt(buf: Uint8Array, p: number, end: number): string {
  let q = p;
  while (q < end && buf[q] !== 9 && buf[q] !== 10 && buf[q] !== 13 && buf[q] !== 44 && q - p < 60) q++;
  return latin1.decode(buf.subarray(p, q));
}

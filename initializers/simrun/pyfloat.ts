/**
 * Python's `repr(float)` / `str(float)` for a JS number: the shortest round-trip digits (the
 * same digits JS picks), laid out the way Python lays them out. Used for the time-point column
 * labels of voltage traces ('100.0', '100.025', '1e-05'), which ISF writes with `str(float)`.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const ax = Math.abs(x);
  if (ax >= 1e-4 && ax < 1e16) {
    // JS and Python agree on the digits and the fixed layout here, except for integers.
    const s = String(x);
    return Number.isInteger(x) ? `${s}.0` : s;
  }
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest round-trip digits.
  const e = Math.abs(x).toExponential();
  const at = e.indexOf('e');
  const digits = e.slice(0, at).replace('.', '');
  const exp = Number(e.slice(at + 1));
  // Python's repr uses fixed notation when -4 <= exp < 16.
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const intLen = exp + 1;
    if (digits.length <= intLen) return `${sign}${digits}${'0'.repeat(intLen - digits.length)}.0`;
    return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  }
  const mant = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
  const expAbs = Math.abs(exp);
  return `${sign}${mant}e${exp < 0 ? '-' : '+'}${expAbs < 10 ? '0' : ''}${expAbs}`;
}

/**
 * divisions.json as Python's json.dump writes it. Float divisions keep a decimal point
 * (`100.0`, not `100`) so a Python reader gets floats back; ISF's int cast is not copied.
 */
import type { Division } from './ondisk.js';

export function serializeDivisions(values: readonly Division[], floatIndex: boolean): string {
  const parts = values.map((v) => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
      const text = JSON.stringify(v);
      return floatIndex && /^-?\d+$/.test(text) ? `${text}.0` : text;
    }
    return JSON.stringify(v);
  });
  return `[${parts.join(', ')}]`;
}

import { describe, expect, it } from 'vitest';
import { ParamSyntaxError, parsePyLiteral } from '../../initializers/simrun/param-file.js';

describe('parameter files nested too deep', () => {
  it('are refused with a ParamSyntaxError naming the line, not a stack overflow', () => {
    const deep = `{\n'a': ${'['.repeat(5000)}`;
    const err = (() => { try { parsePyLiteral(deep); return undefined; } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(ParamSyntaxError);
    expect(err).toMatchObject({ reason: 'values nested more than 200 levels deep', line: 2 });
  });

  it('up to 200 levels still parse', () => {
    const ok = `${'['.repeat(200)}1${']'.repeat(200)}`;
    let value = parsePyLiteral(ok);
    let depth = 0;
    while (Array.isArray(value)) { value = value[0]!; depth++; }
    expect([depth, value]).toEqual([200, 1]);
  });
});

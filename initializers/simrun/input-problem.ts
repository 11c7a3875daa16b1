/**
 * A bad-input fact found while reading a raw campaign file: plain data (file, line, reason), so
 * that it crosses a worker boundary; initSimrun turns it into an InvalidInputError.
 */
export interface InputProblem { file: string; reason: string; line?: number }

/** Thrown inside the parsers (internal: initSimrun turns it into the tagged InvalidInputError). */
export class InputProblemError extends Error {
  constructor(readonly problem: InputProblem) {
    super(`${problem.file}${problem.line === undefined ? '' : `:${problem.line}`}: ${problem.reason}`);
  }
}

export function fail(file: string, reason: string, line?: number): never {
  throw new InputProblemError(line === undefined ? { file, reason } : { file, reason, line });
}

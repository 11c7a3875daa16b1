/**
 * The shape of one `isfdb` command, and the small helpers every command shares. Loaded only when
 * a command runs (main.ts imports it dynamically): `isfdb --help` loads no library code.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../index.js';
import { EXIT, reportFailure } from './failure.js';

export interface CliCommand {
  readonly name: string;
  /** The full --help text. */
  readonly usage: string;
  /** Returns the exit code. */
  run(args: string[]): Promise<number>;
}

/** A row of the command table (commands/index.ts): the command's module loads only when it runs. */
export interface CommandEntry {
  readonly name: string;
  /** One line for the command table. */
  readonly summary: string;
  load(): Promise<CliCommand>;
}

// Bad command-line input (a tagged error of src/errors.ts): printed as one line, exit code 2.
export { UsageError };

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs (runCommand answers --help before); unknown flags are usage errors. */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined> & { help?: boolean };
  positionals: string[];
}

export function parseCommandArgs(args: string[], options: Options, positionals: { min: number; max: number; names: string }): ParsedArgs {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true }) as ParsedArgs;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? String(err));
  }
  if (parsed.positionals.length < positionals.min || parsed.positionals.length > positionals.max) {
    throw new UsageError(`expected ${positionals.names}, got ${parsed.positionals.length} argument(s)`);
  }
  return parsed;
}

/** A numeric flag's value (undefined when absent); anything else than such a number is a usage error. */
export function numberFlag(values: ParsedArgs['values'], name: string, { integer = false, min = -Infinity } = {}): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const value = typeof text === 'string' && text.trim() !== '' ? Number(text) : Number.NaN;
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
    const wanted = `${integer ? 'a whole number' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}`;
    throw new UsageError(`--${name} takes ${wanted}, got '${String(text)}'`);
  }
  return value;
}

/** CLI spelling of tuple keys: `A/1/B` is the key ('A', '1', 'B'). */
export function parseCliKey(text: string): string | string[] {
  const parts = text.split('/').filter((part) => part !== '');
  if (parts.length === 0) throw new UsageError(`'${text}' is not a key`);
  return parts.length === 1 ? parts[0]! : parts;
}

/** Run a command, turning expected failures into one line and an exit code. */
export async function runCommand(command: CliCommand, args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`isfdb ${command.name}: ${err.message} (see isfdb ${command.name} --help)\n`);
      return EXIT.usage;
    }
    return reportFailure(command.name, err);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

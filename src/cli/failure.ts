/**
 * How a failed command ends: one line on stderr and an exit code that tells usage errors, data and
 * file-system failures, and defects of isfdb apart. Stack traces only with --debug.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import type { DataBaseError, FileSystemError } from '../index.js';

/** The library, loaded when a command fails (not at the top: `isfdb --help` must not load it). */
type Library = typeof import('../index.js');

export const EXIT = { ok: 0, failed: 1, usage: 2, internal: 3 } as const;

/** The exit-code table of `isfdb --help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  the command failed on the data or the file system (a key or database not found, a damaged
     file, a read-only file system, no permission, a full disk, ...), or verify/fsck/stale
     --exit-code found problems
  2  usage error: unknown command or option, a bad option value, a malformed key or where-clause
  3  a defect of isfdb (please report it; --debug prints the stack trace)
--debug (anywhere on the command line) prints the stack trace of any failure.`;

/** --debug anywhere on the command line (main strips it before the command parses its flags). */
export function debugRequested(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--debug') || process.env['ISFDB_DEBUG'] === '1';
}

/** Print the failure of `command` (other than a usage error, which command.ts reports) and return the exit code. */
export async function reportFailure(command: string, err: unknown): Promise<number> {
  const { code, message } = classify(await import('../index.js'), err);
  process.stderr.write(`isfdb ${command}: ${message}\n`);
  if (debugRequested() && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
  return code;
}

function classify(lib: Library, err: unknown): { code: number; message: string } {
  // A where-clause comes from the command line too (isfdb query --where).
  if (lib.isDataBaseError(err, 'InvalidKeyError', 'UsageError', 'QueryError')) return { code: EXIT.usage, message: err.message };
  // A bad option or argument value (not the content of a file): a usage error too.
  if (lib.isDataBaseError(err, 'InvalidInputError') && err.file === undefined) return { code: EXIT.usage, message: err.message };
  if (lib.isDataBaseError(err)) return { code: EXIT.failed, message: cliMessage(lib, err) };
  const fsError = lib.fileSystemErrorOf(err);
  if (fsError !== undefined) return { code: EXIT.failed, message: underlyingCause(lib, fsError).message };
  const text = err instanceof Error ? err.message : String(err);
  return { code: EXIT.internal, message: `internal error: ${text.split('\n')[0]}${debugRequested() ? '' : ' (run again with --debug for the stack trace)'}` };
}

/** The library's messages point at its API (db.keys()); on the command line, point at the commands. */
function cliMessage(lib: Library, err: DataBaseError): string {
  if (lib.isDataBaseError(err, 'KeyNotFoundError')) return `key '${err.key}' not found in database ${err.basedir}: run 'isfdb ls ${err.basedir}' for its keys`;
  return err.message.replace(/\(see db\.history\)/, '(see isfdb history)');
}

/**
 * Node's recursive mkdir reports ENOENT when the real cause is a read-only or forbidden parent:
 * ask the nearest existing ancestor whether it can be written, and report that instead.
 */
function underlyingCause(lib: Library, err: FileSystemError): FileSystemError {
  if (err.code !== 'ENOENT' || err.syscall !== 'mkdir' || err.path === undefined) return err;
  let dir = path.dirname(err.path);
  while (!fsSync.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    fsSync.accessSync(dir, fsSync.constants.W_OK);
    return err;
  } catch (probe) {
    return lib.fileSystemErrorOf(probe) ?? err;
  }
}

/**
 * The closed set of errors this library throws. Each carries a `_tag` and the structured
 * facts a caller needs (key, file, loader...), so code can branch with `isDataBaseError`.
 */

export abstract class DataBaseError extends Error {
  abstract readonly _tag: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class KeyNotFoundError extends DataBaseError {
  readonly _tag = 'KeyNotFoundError';
  constructor(readonly key: string, readonly basedir: string) {
    super(`key '${key}' not found in database ${basedir}: check db.keys() for the stored keys`);
  }
}

export class InvalidKeyError extends DataBaseError {
  readonly _tag = 'InvalidKeyError';
  constructor(readonly key: string, readonly reason: string) {
    super(`invalid key '${printable(key)}': ${reason}`);
  }
}

export class KeyTypeConflictError extends DataBaseError {
  readonly _tag = 'KeyTypeConflictError';
  constructor(readonly key: string, readonly basedir: string, readonly reason: string) {
    super(`key '${key}' in ${basedir}: ${reason}`);
  }
}

export class ReadonlyError extends DataBaseError {
  readonly _tag = 'ReadonlyError';
  constructor(readonly operation: string, readonly basedir: string, readonly key?: string) {
    super(`cannot ${operation}${key === undefined ? '' : ` key '${key}'`}: database ${basedir} is open readonly`);
  }
}

export class NotADataBaseError extends DataBaseError {
  readonly _tag = 'NotADataBaseError';
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`);
  }
}

export class UnknownLoaderError extends DataBaseError {
  readonly _tag = 'UnknownLoaderError';
  constructor(readonly loader: string, readonly key?: string, reason?: string) {
    super(reason !== undefined
      ? `no loader for key '${key ?? ''}': ${reason}`
      : `unknown loader '${loader}'${key === undefined ? '' : ` for key '${key}'`}: register it with registerLoader() or use one of listLoaders()`);
  }
}

export class UnsupportedFormatError extends DataBaseError {
  readonly _tag = 'UnsupportedFormatError';
  constructor(readonly loader: string, readonly key: string, readonly reason: string) {
    super(`key '${key}' uses loader '${loader}': ${reason}`);
  }
}

/** An on-disk file that is missing, unparsable or does not match its schema. */
export class CorruptKeyError extends DataBaseError {
  readonly _tag = 'CorruptKeyError';
  constructor(readonly file: string, readonly reason: string, readonly key?: string, options?: { cause?: unknown }) {
    super(`${key === undefined ? '' : `key '${key}': `}${file}: ${reason}`, options);
  }
}

/** A loader's dump or load failed; the loader's own error is the `cause`. */
export class LoaderError extends DataBaseError {
  readonly _tag = 'LoaderError';
  constructor(readonly loader: string, readonly key: string, readonly operation: 'dump' | 'load', cause: unknown) {
    super(`loader '${loader}' failed to ${operation} key '${key}': ${messageOf(cause)}`, { cause });
  }
}

export class LockTimeoutError extends DataBaseError {
  readonly _tag = 'LockTimeoutError';
  constructor(readonly key: string, readonly lockPath: string, readonly waitedMs: number) {
    super(`timed out after ${waitedMs} ms waiting for the lock of key '${key}' (${lockPath}); another process is writing it, or raise lockTimeoutMs`);
  }
}

export class DataBaseNotFoundError extends DataBaseError {
  readonly _tag = 'DataBaseNotFoundError';
  constructor(readonly id: string, readonly reason: string) {
    super(`database '${id}' not found: ${reason}`);
  }
}

export class InvalidPathError extends DataBaseError {
  readonly _tag = 'InvalidPathError';
  constructor(readonly path: string, readonly reason: string) {
    super(`cannot resolve '${path}': ${reason}`);
  }
}

/**
 * Malformed user input outside the database (raw simulation files, CLI arguments, options).
 * `input` names what was bad: a file, or an option or value; `file` is set only when it is a file.
 */
export class InvalidInputError extends DataBaseError {
  readonly _tag = 'InvalidInputError';
  readonly file: string | undefined;
  /** A file (bad content, with `line` when known), or an option or value (`InvalidInputError.value`). */
  constructor(readonly input: string, readonly reason: string, readonly line?: number, kind: 'file' | 'value' = 'file') {
    super(`${input}${line === undefined ? '' : `:${line}`}: ${reason}`);
    this.file = kind === 'file' ? input : undefined;
  }

  /** Bad input that is not a file: an option (`'version'`, `'columns option'`), an argument or a value. */
  static value(what: string, reason: string): InvalidInputError {
    return new InvalidInputError(what, reason, undefined, 'value');
  }
}

/** A Parquet file that does not follow the format (truncated, bad magic, impossible offsets). */
export class ParquetFormatError extends DataBaseError {
  readonly _tag = 'ParquetFormatError';
  constructor(readonly reason: string, readonly file?: string) {
    super(file === undefined ? reason : `${file}: ${reason}`);
  }
}

/** A data frame whose pandas metadata, index or column labels do not fit together. */
export class FrameError extends DataBaseError {
  readonly _tag = 'FrameError';
  constructor(readonly reason: string, readonly column?: string) {
    super(reason);
  }
}

/** Bad command-line input to isfdb: printed as one line, exit code 2. */
export class UsageError extends DataBaseError {
  readonly _tag = 'UsageError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** A key's history holds no such version (see db.history). */
export class VersionNotFoundError extends DataBaseError {
  readonly _tag = 'VersionNotFoundError';
  constructor(readonly key: string, readonly version: string, readonly basedir: string, readonly available: readonly number[]) {
    super(`key '${key}' in ${basedir} has no version ${version}: ${available.length === 0 ? 'its history is empty' : `versions in its history: ${available.join(', ')}`} (see db.history)`);
  }
}

/**
 * A where-clause that cannot be evaluated (see src/query): an unknown operator, an empty
 * operator object, a missing column, an operand of the wrong type, or a malformed regex.
 */
export class QueryError extends DataBaseError {
  readonly _tag = 'QueryError';
  constructor(readonly reason: string, readonly column?: string, readonly operator?: string, readonly value?: unknown) {
    super(`where-clause${column === undefined ? '' : `, column '${column}'`}${operator === undefined ? '' : `, operator '${operator}'`}: ${reason}`);
  }
}

/** A results collection already holds an entry with equal params (see db.results). */
export class DuplicateResultError extends DataBaseError {
  readonly _tag = 'DuplicateResultError';
  constructor(readonly collection: string, readonly existingKey: string, readonly params: string) {
    super(`results '${collection}' already hold an entry with params ${params} (key '${existingKey}'); pass { replace: true } to overwrite it`);
  }
}

/** Plain-language names of the operating-system failures users meet (read-only mounts, quotas, ...). */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EROFS: 'the file system is mounted read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error of the device',
  EMFILE: 'too many open files in this process',
  ENFILE: 'too many open files on this system',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder, not a file',
  ENAMETOOLONG: 'the path is too long for the file system',
  ELOOP: 'too many levels of symbolic links',
  EBUSY: 'the file or folder is busy',
  ENOTEMPTY: 'the folder is not empty',
  EEXIST: 'already exists',
  EXDEV: 'cannot move across file systems',
  ESTALE: 'stale NFS file handle',
};

/**
 * The operating system refused a file-system operation (read-only mount, permissions, full disk...).
 * Not a defect of the data: the same command works once the cause is fixed.
 */
export class FileSystemError extends DataBaseError {
  readonly _tag = 'FileSystemError';
  constructor(readonly code: string, readonly path: string | undefined, readonly syscall: string | undefined, options?: { cause?: unknown }) {
    super(`${path === undefined ? '' : `${path}: `}${ERRNO_TEXT[code] ?? 'the operating system refused the operation'} (${code}${syscall === undefined ? '' : ` in ${syscall}`})`, options);
  }
}

/** The FileSystemError of an operating-system error (an Error with an errno `code`), else undefined. */
export function fileSystemErrorOf(err: unknown): FileSystemError | undefined {
  if (err instanceof FileSystemError) return err;
  if (!(err instanceof Error)) return undefined;
  const { code, path, syscall } = err as NodeJS.ErrnoException;
  if (typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code) || (path === undefined && syscall === undefined)) return undefined;
  return new FileSystemError(code, path, syscall, { cause: err });
}

/** @deprecated Use NotADataBaseError (one spelling of DataBase in every name); the same class. */
export const NotADatabaseError = NotADataBaseError;
/** @deprecated Use NotADataBaseError. */
export type NotADatabaseError = NotADataBaseError;
/** @deprecated Use DataBaseNotFoundError (one spelling of DataBase in every name); the same class. */
export const DatabaseNotFoundError = DataBaseNotFoundError;
/** @deprecated Use DataBaseNotFoundError. */
export type DatabaseNotFoundError = DataBaseNotFoundError;

type ErrorByTag = {
  KeyNotFoundError: KeyNotFoundError; InvalidKeyError: InvalidKeyError;
  KeyTypeConflictError: KeyTypeConflictError; ReadonlyError: ReadonlyError;
  NotADataBaseError: NotADataBaseError; UnknownLoaderError: UnknownLoaderError;
  UnsupportedFormatError: UnsupportedFormatError; CorruptKeyError: CorruptKeyError;
  LoaderError: LoaderError; LockTimeoutError: LockTimeoutError;
  DataBaseNotFoundError: DataBaseNotFoundError; InvalidPathError: InvalidPathError;
  InvalidInputError: InvalidInputError; VersionNotFoundError: VersionNotFoundError;
  QueryError: QueryError; DuplicateResultError: DuplicateResultError;
  ParquetFormatError: ParquetFormatError; FrameError: FrameError; UsageError: UsageError;
  FileSystemError: FileSystemError;
  /** @deprecated tag spelling: NotADataBaseError */
  NotADatabaseError: NotADataBaseError;
  /** @deprecated tag spelling: DataBaseNotFoundError */
  DatabaseNotFoundError: DataBaseNotFoundError;
};

export type DataBaseErrorTag = keyof ErrorByTag;

/** Old tag spellings, still accepted by isDataBaseError. */
const DEPRECATED_TAGS: Readonly<Record<string, string>> = {
  NotADatabaseError: 'NotADataBaseError',
  DatabaseNotFoundError: 'DataBaseNotFoundError',
};

/** True when `err` is one of ours; with tags, only when its tag is among them. */
export function isDataBaseError<T extends DataBaseErrorTag = DataBaseErrorTag>(
  err: unknown,
  ...tags: T[]
): err is ErrorByTag[T] {
  if (!(err instanceof DataBaseError)) return false;
  return tags.length === 0 || tags.some((tag) => (DEPRECATED_TAGS[tag] ?? tag) === err._tag);
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Keys may contain anything when refused; keep messages on one readable line. */
function printable(key: string): string {
  const shown = key.length > 80 ? `${key.slice(0, 77)}...` : key;
  return JSON.stringify(shown).slice(1, -1);
}

/**
 * A step: one computation applied per record (a trial, a run folder, a parameter point). Its
 * inputs and output are keys derived from the record; its result is committed as its own key
 * through maybeCalculate, so the recipe (step name, record, code identity, input checksums)
 * decides whether a stored result is still valid.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidInputError, canonicalJson, type DataBase, type Key } from '../index.js';

/** A record is plain JSON data: usually a string (a trial id, a run folder) or a number. */
export type RecordValue = string | number | readonly (string | number)[] | { readonly [k: string]: unknown };

/** Named input keys, or a list of them (named '0', '1', ...). */
export type InputKeys = Readonly<Record<string, Key>> | readonly Key[];

/** What `run` gets besides the record. */
export interface StepContext<R> {
  readonly record: R;
  readonly db: DataBase;
  /** The record's input keys, by name (or index, as a string, when inputs is a list). */
  readonly inputKeys: Readonly<Record<string, Key>>;
  /** The value of the named input (`ctx.input('vt')`, or `ctx.input(0)` for a list). */
  input<T = unknown>(name: string | number): Promise<T>;
  /** A line in the record's event log. */
  log(message: string): void;
  /** 1 for the first attempt of this record in this run, then 2, ... */
  readonly attempt: number;
}

export interface StepDefinition<R extends RecordValue, T> {
  /** Letters, digits, '_', '-', '.': it names the step's folder of events and its queue. */
  name: string;
  /** Input keys, or a function of the record giving them. */
  inputs?: InputKeys | ((record: R) => InputKeys);
  /** The key the result is stored under. */
  output: (record: R) => Key;
  run: (record: R, ctx: StepContext<R>) => T | Promise<T>;
  /** Enters the recipe; without it the source text of `run` does (as maybeCalculate's `code`). */
  version?: string;
  /** A dumper name for the result (default: chosen from the value). */
  dumper?: string;
  /**
   * The module that defines the step (`import.meta.url`), so worker processes can import it.
   * Taken from the caller's stack frame when absent.
   */
  module?: string;
}

const STEP_BRAND = Symbol.for('isf-data-base.step');

export interface Step<R extends RecordValue = RecordValue, T = unknown> extends Readonly<StepDefinition<R, T>> {
  readonly [STEP_BRAND]: true;
  readonly module: string | undefined;
}

const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export function defineStep<R extends RecordValue, T>(definition: StepDefinition<R, T>): Step<R, T> {
  if (typeof definition !== 'object' || definition === null) throw InvalidInputError.value('defineStep', 'pass an object { name, inputs, output, run }');
  const { name, output, run, version } = definition;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw InvalidInputError.value('defineStep', `name ${JSON.stringify(name)} must be 1-100 letters, digits, '_', '-' or '.', not starting with '-' or '.'`);
  }
  if (typeof output !== 'function') throw InvalidInputError.value('defineStep', `step '${name}': output must be a function of the record giving a key`);
  if (typeof run !== 'function') throw InvalidInputError.value('defineStep', `step '${name}': run must be a function (record, ctx) => value`);
  if (version !== undefined && typeof version !== 'string') throw InvalidInputError.value('defineStep', `step '${name}': version must be a string`);
  return Object.freeze({ ...definition, module: definition.module ?? callerModule(), [STEP_BRAND]: true as const });
}

export function isStep(value: unknown): value is Step {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[STEP_BRAND] === true;
}

/** The steps a module exports: named exports, a default export, or arrays/objects of steps in them. */
export function stepsOf(moduleExports: Record<string, unknown>, moduleUrl: string): Step[] {
  const found = new Map<string, Step>();
  const visit = (value: unknown, depth: number): void => {
    if (isStep(value)) {
      found.set(value.name, value.module === moduleUrl ? value : Object.freeze({ ...value, module: moduleUrl }));
    } else if (depth < 2 && Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
    } else if (depth < 2 && typeof value === 'object' && value !== null) {
      for (const item of Object.values(value)) visit(item, depth + 1);
    }
  };
  for (const value of Object.values(moduleExports)) visit(value, 0);
  return [...found.values()];
}

/** Import a steps module (a path or file URL) and return its steps. */
export async function loadSteps(file: string): Promise<Step[]> {
  const url = file.startsWith('file:') ? file : pathToFileURL(file).href;
  let exports: Record<string, unknown>;
  try {
    exports = await import(url) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidInputError(fileURLToPath(url), `cannot import the steps module: ${(err as Error).message}`);
  }
  const steps = stepsOf(exports, url);
  if (steps.length === 0) throw new InvalidInputError(fileURLToPath(url), 'exports no step (export the values returned by defineStep)');
  return steps;
}

/** The step named `name` of a module, with a clear error listing the others. */
export async function loadStep(file: string, name: string | undefined): Promise<Step> {
  const steps = await loadSteps(file);
  if (name === undefined) {
    if (steps.length === 1) return steps[0]!;
    throw new InvalidInputError(file, `defines ${steps.length} steps (${steps.map((s) => s.name).join(', ')}): name one`);
  }
  const step = steps.find((s) => s.name === name);
  if (step === undefined) throw InvalidInputError.value(file, `has no step '${name}' (it has ${steps.map((s) => s.name).join(', ')})`);
  return step;
}

/** A record's identity as text: strings as they are, numbers in JS notation, anything else as canonical JSON. */
export function recordId(record: RecordValue): string {
  if (typeof record === 'string') return record;
  if (typeof record === 'number') {
    if (!Number.isFinite(record)) throw InvalidInputError.value('records', `${record} is not a record (finite numbers, strings or JSON data)`);
    return String(record);
  }
  return canonicalJson(record, 'record');
}

/** The record's input keys by name. */
export function inputKeysOf<R extends RecordValue>(step: Step<R, unknown>, record: R): Record<string, Key> {
  const given = typeof step.inputs === 'function' ? step.inputs(record) : step.inputs ?? {};
  if (Array.isArray(given)) return Object.fromEntries((given as readonly Key[]).map((key, i) => [String(i), key]));
  return { ...(given as Record<string, Key>) };
}

/** What enters maybeCalculate's recipe for this record. */
export function recipeOptionsOf<R extends RecordValue>(step: Step<R, unknown>, record: R): { params: unknown; inputs: Key[]; code: string | ((...args: never[]) => unknown) } {
  return {
    params: { step: step.name, record: recordId(record) },
    inputs: Object.values(inputKeysOf(step, record)),
    code: step.version ?? (step.run as (...args: never[]) => unknown),
  };
}

const THIS_FILE = import.meta.url;

/**
 * The file URL of the first stack frame outside this file and node_modules: the module calling
 * defineStep. Frames are file URLs under plain Node, absolute paths under some loaders (vitest).
 */
function callerModule(): string | undefined {
  const stack = new Error().stack ?? '';
  for (const match of stack.matchAll(/(file:\/\/\/[^\s)]+?|\/[^\s():]+?):\d+:\d+/g)) {
    const url = match[1]!.startsWith('file:') ? match[1]! : pathToFileURL(match[1]!).href;
    if (url !== THIS_FILE && !url.includes('/node_modules/') && !/\/runs\/step\.[jt]s$/.test(url) && /\.[cm]?[jt]s$/.test(url)) return url;
  }
  return undefined;
}

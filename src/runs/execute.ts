/**
 * Running records in one process, with their results committed in groups.
 *
 * A record is computed (at most `concurrency` at once per process), then waits for a commit.
 * Whenever no commit is in flight, every result waiting is committed together by one `setMany`
 * (shared fsyncs), and only then is each record logged 'done' (one append for the group) and its
 * promise resolved: a record is done only when its key is durable. While one group commits, the
 * next records compute, so groups grow by themselves when commits are slow. A small group waits
 * up to `lingerMs` for more while records of this process are still computing (a group of one
 * costs about three times the CPU per key of a group of eight on this disk). A process killed
 * mid-group leaves those records without a result; they run again.
 *
 * Exactly once: each key's write re-checks, under its lock, whether a result with the same
 * recipe is already there (another process that held an expired lease, say) and then leaves it,
 * as maybeCalculate does. The recipe is built before computing, from the inputs' checksums then:
 * an input changed during the computation makes the stored result stale, never wrongly fresh.
 */
import type { DataBase, Key, SetManyEntry } from '../index.js';
import { RECIPE_FIELD, type RecipeJson } from '../lineage.js';
import { eventLog, runsFolder, type NewEvent } from './events.js';
import { holdsRecipe, missingInputs, recordRecipe } from './record.js';
import { inputKeysOf, recordId, type RecordValue, type Step, type StepContext } from './step.js';

export interface ExecuteOptions {
  attempt: number;
  force?: boolean;
}

export type ExecuteResult =
  /** durationMs: from the start to the commit; computeMs: the step's run alone (0 when not computed). */
  | { status: 'done'; computed: boolean; durationMs: number; computeMs: number }
  | { status: 'missing-input'; missing: string[] };

export interface ExecutorOptions {
  /** Records computed at once (default 1). */
  concurrency?: number;
  /** Most results committed by one setMany (default 256). */
  maxBatch?: number;
  /** A group smaller than this waits for more results while records still compute (default 8). */
  groupTarget?: number;
  /** How long such a group waits at most (default 20 ms). */
  lingerMs?: number;
}

interface Waiting {
  step: string;
  runs: string;
  id: string;
  attempt: number;
  started: number;
  computeMs: number;
  entry: SetManyEntry;
  /** Set when the key's lock showed a result of the same recipe already there. */
  found: boolean;
  resolve: (result: ExecuteResult) => void;
  reject: (err: unknown) => void;
}

/** Records of one database, run in this process. */
export class RecordExecutor {
  private readonly concurrency: number;
  private readonly maxBatch: number;
  private readonly groupTarget: number;
  private readonly lingerMs: number;
  private linger: NodeJS.Timeout | undefined;
  /** Records holding a compute slot (a slot passes straight to the next waiter). */
  private computing = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private waiting: Waiting[] = [];
  private committing = false;

  constructor(private readonly db: DataBase, options: ExecutorOptions = {}) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.maxBatch = Math.max(1, options.maxBatch ?? 256);
    this.groupTarget = Math.max(1, options.groupTarget ?? 8);
    this.lingerMs = Math.max(0, options.lingerMs ?? 20);
  }

  /**
   * Run one record: log 'start', compute unless a fresh result is stored, then resolve once the
   * result is committed (logged 'done'). A failure is logged with its stack and rethrown, for the
   * caller to retry.
   */
  async execute<R extends RecordValue>(step: Step<R, unknown>, record: R, options: ExecuteOptions): Promise<ExecuteResult> {
    const { db } = this;
    const runs = await runsFolder(db);
    const log = eventLog(runs, step.name);
    const id = recordId(record);
    const missing = await missingInputs(db, step, record);
    if (missing.length > 0) {
      log.append([{ record: id, event: 'missing-input', missing }]);
      return { status: 'missing-input', missing };
    }
    const output = step.output(record);
    const force = options.force === true;
    await this.takeSlot();
    const started = performance.now();
    let recipe: RecipeJson;
    let value: unknown;
    let computed = false;
    let computeMs = 0;
    try {
      log.append([{ record: id, event: 'start', attempt: options.attempt }]);
      recipe = await recordRecipe(db, step, record);
      if (force || !(await holdsRecipe(db, output, recipe))) {
        computed = true;
        const computing = performance.now();
        value = await step.run(record, this.context(step, record, options.attempt, (message) => log.append([{ record: id, event: 'log', message }])));
        computeMs = performance.now() - computing;
      }
    } catch (err) {
      logError(log, id, options.attempt, err);
      throw err;
    } finally {
      this.releaseSlot();
    }
    if (!computed) {
      log.append([{ record: id, event: 'done', attempt: options.attempt, computed: false, duration_ms: elapsed(started) }]);
      return { status: 'done', computed: false, durationMs: performance.now() - started, computeMs: 0 };
    }
    return new Promise<ExecuteResult>((resolve, reject) => {
      const waiting: Waiting = {
        step: step.name, runs, id, attempt: options.attempt, started, computeMs, found: false, resolve, reject,
        entry: {
          key: output,
          value,
          extraMetadata: { [RECIPE_FIELD]: recipe },
          ...(step.dumper === undefined ? {} : { dumper: step.dumper }),
          // Under the key's lock: a result of this recipe committed meanwhile by another process stays.
          ...(force ? {} : { skipIf: async () => (waiting.found = await holdsRecipe(db, output, recipe)) }),
        },
      };
      this.waiting.push(waiting);
      this.commitWaiting();
    });
  }

  private context<R extends RecordValue>(step: Step<R, unknown>, record: R, attempt: number, logLine: (message: string) => void): StepContext<R> {
    const inputKeys = inputKeysOf(step, record);
    const { db } = this;
    return {
      record,
      db,
      inputKeys,
      attempt,
      input: async <T>(name: string | number) => {
        const key: Key | undefined = inputKeys[String(name)];
        if (key === undefined) throw new Error(`step '${step.name}' has no input '${String(name)}' (it has ${Object.keys(inputKeys).join(', ') || 'none'})`);
        return db.get(key) as Promise<T>;
      },
      log: logLine,
    };
  }

  private async takeSlot(): Promise<void> {
    if (this.computing < this.concurrency) {
      this.computing++;
      return;
    }
    await new Promise<void>((resolve) => this.slotWaiters.push(resolve)); // handed a slot by releaseSlot
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next !== undefined) next();
    else this.computing--;
  }

  /** Start a group commit of everything waiting, unless one is in flight (it starts the next when it ends) or a small group should wait for more. */
  private commitWaiting(): void {
    if (this.committing || this.waiting.length === 0) return;
    const moreComing = this.computing > 0;
    if (moreComing && this.waiting.length < this.groupTarget && this.lingerMs > 0) {
      this.linger ??= setTimeout(() => {
        this.linger = undefined;
        this.startGroup();
      }, this.lingerMs);
      return;
    }
    this.startGroup();
  }

  private startGroup(): void {
    if (this.committing || this.waiting.length === 0) return;
    if (this.linger !== undefined) {
      clearTimeout(this.linger);
      this.linger = undefined;
    }
    this.committing = true;
    const group = this.waiting.splice(0, this.maxBatch);
    void this.commitGroup(group).finally(() => {
      this.committing = false;
      this.commitWaiting();
    });
  }

  private async commitGroup(group: Waiting[]): Promise<void> {
    try {
      await this.db.setMany(group.map((w) => w.entry));
    } catch (err) {
      if (group.length > 1) {
        // One bad value fails the whole setMany: commit one by one, so only that record fails.
        for (const w of group) await this.commitGroup([w]);
        return;
      }
      const w = group[0]!;
      logError(eventLog(w.runs, w.step), w.id, w.attempt, err);
      w.reject(err);
      return;
    }
    const byLog = new Map<string, NewEvent[]>();
    for (const w of group) {
      const key = `${w.runs}\0${w.step}`;
      let events = byLog.get(key);
      if (events === undefined) byLog.set(key, events = []);
      events.push({ record: w.id, event: 'done', attempt: w.attempt, computed: !w.found, duration_ms: elapsed(w.started) });
    }
    for (const [key, events] of byLog) {
      const [runs, step] = key.split('\0') as [string, string];
      eventLog(runs, step).append(events);
    }
    for (const w of group) w.resolve({ status: 'done', computed: !w.found, durationMs: performance.now() - w.started, computeMs: w.computeMs });
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

function logError(log: ReturnType<typeof eventLog>, id: string, attempt: number, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  log.append([{ record: id, event: 'error', attempt, message: error.message, stack: error.stack ?? '' }]);
}

const executors = new WeakMap<DataBase, RecordExecutor>();

/** The executor of `db` in this process (created with `options` on first use). */
export function executorOf(db: DataBase, options: ExecutorOptions = {}): RecordExecutor {
  let executor = executors.get(db);
  if (executor === undefined) executors.set(db, executor = new RecordExecutor(db, options));
  return executor;
}


/**
 * A run coordinator as its own process, for the runs acceptance tests:
 *   runs-coordinator <db> <steps.js> <step> <nRecords> <workers> [redisUrl prefix]
 * Opens the database with keepVersions: 3 (and Redis key locks when RUNS_REDIS_LOCKS is set) (so a second commit of a record would show in its
 * history), runs the step over records 0..n-1, prints the report as one JSON line.
 */
import { DataBase } from '../../src/index.js';
import { loadStep } from '../../src/runs/index.js';

const [dir, stepsFile, stepName, n, workers, url, prefix] = process.argv.slice(2);
// RUNS_REDIS_LOCKS: key writes locked on that Redis (worker processes get the same option).
const locksUrl = process.env['RUNS_REDIS_LOCKS'];
const db = await DataBase.open(dir!, { keepVersions: 3, lockStaleMs: 2000, ...(locksUrl ? { locks: { redis: locksUrl, prefix: `${prefix ?? 'isfdb'}:lock` } } : {}) });
const step = await loadStep(stepsFile!, stepName);
const records = Array.from({ length: Number(n) }, (_, i) => i);
const report = await db.run(step, {
  records,
  workers: Number(workers),
  attempts: 5,
  backoffMs: 20,
  ...(url ? { redis: { url, prefix: prefix!, backoffMs: 100, attempts: 5 } } : {}),
});
process.stdout.write(`${JSON.stringify({ ...report, failures: report.failures.slice(0, 5), missing: [] })}\n`);
process.exitCode = report.errors === 0 ? 0 : 1;

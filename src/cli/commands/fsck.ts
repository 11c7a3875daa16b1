import { describeFsckFinding } from '../../index.js';
import { openExisting } from '../open.js';
import { numberFlag, parseCommandArgs, printJson, type CliCommand } from '../command.js';

const usage = `isfdb fsck <db> [--repair] [--offline] [--stale-ms N] [--json]

Find what killed or interrupted writers left in a database: temporary write folders, *.deleting.*
leftovers, stale locks, key folders without Loader.json, sub-databases without db_state.json,
unregistered databases, symbolic links in place of key folders. A complete key is never touched.
  --repair      remove the debris (under each key's lock), roll forward a write that was killed
                between its two renames, re-create missing db_state.json, register again
  --offline     you assert that no process uses the database now (e.g. after a node crash):
                every lock counts as stale
  --stale-ms N  age after which a lock counts as left by a dead process (default 10000)
  --json        print the report as JSON
Exit code: 0 when nothing was found (or everything was repaired), 1 otherwise, 2 on bad input.`;

export const command: CliCommand = {
  name: 'fsck',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      repair: { type: 'boolean' }, offline: { type: 'boolean' }, 'stale-ms': { type: 'string' }, json: { type: 'boolean' },
    }, { min: 1, max: 1, names: '<db>' });
    const staleMs = numberFlag(values, 'stale-ms', { min: 0 });
    const repair = values.repair === true;
    const db = await openExisting(positionals[0]!, repair ? 'write' : 'read');
    const report = await db.fsck({ repair, offline: values.offline === true, ...(staleMs === undefined ? {} : { lockStaleMs: staleMs }) });
    if (values.json) {
      printJson(report);
    } else {
      for (const finding of report.findings) process.stdout.write(`${describeFsckFinding(finding)}\n`);
      process.stdout.write(`${report.basedir}: ${report.databasesChecked} database(s), ${report.keysChecked} keys, ${report.findings.length} finding(s)${repair ? '' : report.findings.length > 0 ? ' (run with --repair to fix)' : ''}\n`);
    }
    return report.clean ? 0 : 1;
  },
};

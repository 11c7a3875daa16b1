import { describeFinding, isErrorFinding } from '../../index.js';
import { openExisting } from '../open.js';
import { parseCliKey, parseCommandArgs, printJson, type CliCommand } from '../command.js';

const usage = `isfdb verify <db> [key] [--json]

Recompute the checksums recorded when each key was written and report every changed, missing or
unexpected file and every unreadable Loader.json / metadata.json / db_state.json. Keys written by
Python ISF carry no checksums and are listed as "unverified" (not an error). Reads only.
  key       only this key (a sub-database: everything below it); tuple keys are written A/1/B
  --json    print the report as JSON
Exit code: 0 when nothing is wrong, 1 when something is, 2 on bad input.`;

export const command: CliCommand = {
  name: 'verify',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } }, { min: 1, max: 2, names: '<db> [key]' });
    const db = await openExisting(positionals[0]!, 'read');
    const key = positionals[1] === undefined ? undefined : parseCliKey(positionals[1]);
    const report = await db.verify(key);
    if (values.json) {
      printJson(report);
    } else {
      for (const finding of report.findings) process.stdout.write(`${isErrorFinding(finding) ? 'ERROR' : 'note '} ${describeFinding(finding)}\n`);
      const errors = report.findings.filter(isErrorFinding).length;
      process.stdout.write(`${report.basedir}: ${report.keysChecked} keys, ${report.keysVerified} verified, ${report.filesChecked} files (${report.bytesChecked} bytes), ${errors} problem(s), ${report.findings.length - errors} unverified\n`);
    }
    return report.ok ? 0 : 1;
  },
};

import { DataBase } from '../../index.js';
import { parseCliKey, parseCommandArgs, printJson, type CliCommand } from '../command.js';
import { describeValue, previewValue } from '../describe.js';

const usage = `isfdb show <db> <key> [--json] [--no-value]

Show one key: its loader, its metadata.json and a short preview of its value.
Tuple keys are written with slashes: A/1/B is the key ('A', '1', 'B').
  --json       print { "key", "loader", "metadata", "summary" }
  --no-value   do not read the value (metadata only)`;

export const command: CliCommand = {
  name: 'show',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' }, 'no-value': { type: 'boolean' } }, { min: 2, max: 2, names: '<db> <key>' });
    const db = await DataBase.open(positionals[0]!, { readonly: true });
    const key = parseCliKey(positionals[1]!);
    const loader = await db.loaderOf(key);
    const metadata = await db.metadata(key);
    const value = values['no-value'] ? undefined : await db.get(key);
    if (values.json) {
      printJson({ key: Array.isArray(key) ? key : [key], loader, metadata, summary: value === undefined ? null : describeValue(value) });
      return 0;
    }
    const lines = [`key:      ${positionals[1]}`, `loader:   ${loader}`, `folder:   ${await db.folderOf(key)}`, 'metadata:'];
    for (const [field, content] of Object.entries(metadata)) {
      if (field === 'module_list') continue;
      lines.push(`  ${field}: ${typeof content === 'string' ? content : JSON.stringify(content)}`);
    }
    if (value !== undefined) lines.push(`value:    ${describeValue(value)}`, previewValue(value));
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};

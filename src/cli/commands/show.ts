import { formatKey } from '../../index.js';
import { openExisting } from '../open.js';
import { parseCliKey, parseCommandArgs, printJson, type CliCommand } from '../command.js';
import { columnList, formatBytes, isoTimeOf, metadataLines, provenanceLine, sizeOnDisk, summarize } from '../summary.js';

const usage = `isfdb show <db> <key> [--json] [--no-value]

Show one key: what it holds (data frames: rows x columns, partitions, index name and range,
dtypes, the first rows of a few columns; sub-databases: their first 12 keys and how many
more; managed folders: their first 12 files), its size on disk, its
provenance (write time as ISO 8601 UTC, writer, host, code version) and its metadata.json,
with long fields cut.
Tuple keys are written with slashes: A/1/B is the key ('A', '1', 'B').
  --json       print { "key", "loader", "folder", "time", "size", "metadata", "summary" }
               (metadata as on disk, with ISF's raw time tuple; time is its ISO 8601 form)
  --no-value   do not read the value (metadata and size only)`;

export const command: CliCommand = {
  name: 'show',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' }, 'no-value': { type: 'boolean' } }, { min: 2, max: 2, names: '<db> <key>' });
    const db = await openExisting(positionals[0]!, 'read');
    const key = parseCliKey(positionals[1]!);
    const loader = await db.loaderOf(key);
    const metadata = await db.metadata(key);
    const folder = await db.folderOf(key);
    const size = await sizeOnDisk(folder);
    const summary = values['no-value'] ? undefined : await summarize(await db.get(key), loader);
    const time = isoTimeOf((metadata as Record<string, unknown>)['time']) ?? null;
    if (values.json) {
      printJson({ key: Array.isArray(key) ? key : [key], loader, folder, time, size, metadata, summary: summary ?? null });
      return 0;
    }
    const lines = [`key:        ${formatKey(key)}`, `loader:     ${loader}`, `folder:     ${folder}`];
    if (summary !== undefined) {
      lines.push(`shape:      ${summary.shape}`);
      const frame = summary.frame;
      if (frame !== undefined) {
        lines.push(`index:      ${frame.index.name ?? '(unnamed)'}, ${JSON.stringify(frame.index.first)} .. ${JSON.stringify(frame.index.last)}`);
        lines.push(`dtypes:     ${Object.entries(frame.dtypes).map(([dtype, n]) => `${dtype} x ${n}`).join(', ')}`);
        lines.push(`columns:    ${columnList(frame.columnNames)}`);
      }
    }
    lines.push(`size:       ${formatBytes(size.bytes)} on disk in ${size.files} file(s)`);
    lines.push(`provenance: ${provenanceLine(metadata)}`);
    if (summary !== undefined && summary.preview !== '') {
      lines.push(summary.frame !== undefined ? 'first rows:' : summary.keys !== undefined || loader === 'just_create_folder' ? 'contents:' : 'value:', summary.preview);
    }
    lines.push('metadata.json:', ...metadataLines(metadata));
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};

/** The records of a run: a list, or read from a key (a list, an n-d array, or a frame's index). */
import { InvalidInputError, formatKey, type DataBase, type Key } from '../index.js';
import type { indexColumnOf } from '../frames.js';
import type { RecordValue } from './step.js';

export type RecordsSpec<R> = readonly R[] | string | { key: Key };

export async function resolveRecords<R extends RecordValue>(db: DataBase, spec: RecordsSpec<R>): Promise<R[]> {
  if (Array.isArray(spec)) return checkUnique([...(spec as readonly R[])], 'records');
  const key: Key | undefined = typeof spec === 'string' ? spec : (spec as { key?: Key }).key;
  if (key === undefined) throw InvalidInputError.value('records', 'pass a list of records, a key name, or { key }');
  const shown = formatKey(key);
  const value = await db.get(key);
  return checkUnique(await recordsFromValue(value, shown) as R[], shown);
}

async function recordsFromValue(stored: unknown, shown: string): Promise<RecordValue[]> {
  // Frames only when the key holds one: the frame helpers load apache-arrow and the Parquet codec.
  const frames = typeof stored === 'object' && stored !== null && !Array.isArray(stored) ? await import('../frames.js') : undefined;
  const value = frames !== undefined && stored instanceof frames.PartitionedFrame ? await stored.read() : stored;
  if (Array.isArray(value)) return value.map((v) => plainRecord(v, shown));
  if (isTable(value)) {
    const column = frames!.indexColumnOf(value) ?? value.schema.fields[0]?.name;
    const vector = column === undefined ? undefined : value.getChild(column);
    if (vector === undefined || vector === null) throw InvalidInputError.value(shown, 'is a frame without columns: it lists no records');
    return [...new Set(Array.from(vector.toArray() as ArrayLike<unknown>, (v) => plainRecord(v, shown)) as Array<string | number>)];
  }
  if (typeof value === 'object' && value !== null && ArrayBuffer.isView((value as { data?: unknown }).data)) {
    return Array.from((value as { data: ArrayLike<number | bigint> }).data, (v) => plainRecord(v, shown));
  }
  throw InvalidInputError.value(shown, 'does not list records: expected a list, an n-d array, or a data frame (its index or first column)');
}

function plainRecord(v: unknown, shown: string): RecordValue {
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint' && Number.isSafeInteger(Number(v))) return Number(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v as (string | number)[];
  throw InvalidInputError.value(shown, `holds ${JSON.stringify(String(v))}, which is not a record (strings, numbers, or lists of them)`);
}

function isTable(value: unknown): value is { schema: { fields: Array<{ name: string }> }; numRows: number; getChild(name: string): { toArray(): unknown } | null } & Parameters<typeof indexColumnOf>[0] {
  return typeof value === 'object' && value !== null && 'schema' in value && 'numRows' in value && typeof (value as { getChild?: unknown }).getChild === 'function';
}

function checkUnique<R>(records: R[], where: string): R[] {
  const seen = new Set<string>();
  for (const r of records) {
    const id = typeof r === 'string' ? r : JSON.stringify(r);
    if (seen.has(id)) throw InvalidInputError.value(where, `lists the record ${id} twice: records name their outputs and must be unique`);
    seen.add(id);
  }
  return records;
}

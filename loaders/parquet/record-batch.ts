/**
 * RecordBatch construction without apache-arrow's quadratic cost in the column count.
 *
 * `new RecordBatch(schema, data)` re-merges the schema field by field with a linear search per
 * field (Schema.assign): 10,000 columns (ISF's time-point frames) cost ~0.3 s per batch. When
 * every child already has the batch's length that merge changes nothing, so wide batches are
 * assembled directly; narrow ones keep the public constructor.
 */
import { RecordBatch, type Data, type Schema, type Struct } from 'apache-arrow';

const DIRECT_ABOVE_COLUMNS = 256;

export function recordBatchOf(schema: Schema, data: Data<Struct>): RecordBatch {
  const uniform = data.children.every((child) => child.length === data.length);
  if (schema.fields.length <= DIRECT_ABOVE_COLUMNS || !uniform) return new RecordBatch(schema, data);
  const batch = Object.create(RecordBatch.prototype) as RecordBatch & { _metadata: Map<string, string> };
  Object.assign(batch, { schema, data, _metadata: new Map<string, string>() });
  return batch;
}

/**
 * A data frame is an Arrow Table; what pandas adds lives in the schema metadata:
 * - `pandas` (as pyarrow writes it): which column is the index, or a range descriptor;
 * - `isf_data_base:object_meta`: the object_meta.json of the key it was read from, telling the
 *   original types of the column labels (Parquet only keeps strings).
 * These helpers read and set both.
 */
import { type DataType, type Field, Schema, Table, Type, TimeUnit, Utf8, makeData, Struct } from 'apache-arrow';
import { recordBatchOf } from './record-batch.js';
import { FrameError } from '../../src/errors.js';
import { pandasMetadataSchema, type ObjectMetaJson, type PandasColumn, type PandasMetadata } from './ondisk.js';

export const PANDAS_KEY = 'pandas';
export const OBJECT_META_KEY = 'isf_data_base:object_meta';

/** What a column label was in Python: ISF's float time points and int spike numbers. */
export type LabelType = 'str' | 'int' | 'float';

export type FrameIndex =
  | { kind: 'columns'; columns: string[]; names: (string | null)[] }
  | { kind: 'range'; name: string | null; start: number; stop: number; step: number };

/** Thrown for frames that cannot be described the pandas way; loaders turn it into typed errors. */
// Tagged (src/errors.ts), so that every error we throw can be told apart with isDataBaseError.
export { FrameError };

/**
 * Parsed schema metadata, by its text: the helpers below ask for it several times per frame, the
 * partitions of one key usually carry the same text, and for ISF's 10,001-column voltage traces
 * one parse and validation costs milliseconds. A few recent texts per metadata key are kept.
 */
const PARSED_TEXTS_KEPT = 8;
const parsedMetadata = new Map<string, Map<string, unknown>>();

function cachedParse<T>(schema: Schema, key: string, parse: (text: string) => T): T | undefined {
  const text = schema.metadata.get(key);
  if (text === undefined) return undefined;
  let byText = parsedMetadata.get(key);
  if (byText === undefined) {
    byText = new Map();
    parsedMetadata.set(key, byText);
  }
  if (byText.has(text)) return byText.get(text) as T;
  const value = parse(text);
  if (byText.size >= PARSED_TEXTS_KEPT) byText.delete(byText.keys().next().value as string);
  byText.set(text, value);
  return value;
}

/**
 * The text of pandas metadata built here, known to be valid by construction: registered as
 * parsed, so that reading it back (frameIndexOf and friends, while a frame is written) neither
 * validates it again nor loads zod (writer threads never validate JSON).
 */
function ownPandasText(metadata: PandasMetadata): string {
  const text = JSON.stringify(metadata);
  let byText = parsedMetadata.get(PANDAS_KEY);
  if (byText === undefined) {
    byText = new Map();
    parsedMetadata.set(PANDAS_KEY, byText);
  }
  if (!byText.has(text)) {
    if (byText.size >= PARSED_TEXTS_KEPT) byText.delete(byText.keys().next().value as string);
    byText.set(text, JSON.parse(text) as PandasMetadata);
  }
  return text;
}

/** The pandas metadata of a table, or undefined when it has none (or it is unusable). */
export function pandasMetadataOf(table: { schema: Schema }): PandasMetadata | undefined {
  return cachedParse(table.schema, PANDAS_KEY, parsePandasMetadata);
}

function parsePandasMetadata(text: string): PandasMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new FrameError('the pandas metadata is not valid JSON');
  }
  const parsed = pandasMetadataSchema.safeParse(raw);
  if (!parsed.success) throw new FrameError(`the pandas metadata is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** The frame's index: stored columns, or a range (the default when there is no pandas metadata). */
export function frameIndexOf(table: { schema: Schema; numRows: number }): FrameIndex {
  const meta = pandasMetadataOf(table);
  const descriptors = meta?.index_columns ?? [];
  const columns = descriptors.filter((d): d is string => typeof d === 'string');
  if (columns.length > 0) {
    const names = columns.map((field) => {
      const entry = meta?.columns.find((c) => c.field_name === field);
      const name = entry?.name ?? null;
      return name === null ? null : String(name);
    });
    return { kind: 'columns', columns, names };
  }
  const range = descriptors.find((d) => typeof d !== 'string');
  if (range && typeof range !== 'string') {
    return { kind: 'range', name: range.name ?? null, start: range.start, stop: range.stop, step: range.step };
  }
  return { kind: 'range', name: null, start: 0, stop: table.numRows, step: 1 };
}

/** The name of the column holding the index, or undefined for a default range index. */
export function indexColumnOf(table: { schema: Schema; numRows: number }): string | undefined {
  const index = frameIndexOf(table);
  return index.kind === 'columns' ? index.columns[0] : undefined;
}

/** The data columns (every field but the stored index columns), in order. */
export function dataColumnsOf(table: { schema: Schema; numRows: number }): string[] {
  const index = frameIndexOf(table);
  const indexColumns = new Set(index.kind === 'columns' ? index.columns : []);
  return table.schema.fields.map((f) => f.name).filter((n) => !indexColumns.has(n));
}

/** The original type of each data column label (from object_meta.json; 'str' when unknown). */
export function columnLabelTypes(table: { schema: Schema; numRows: number }): Map<string, LabelType> {
  const meta = objectMetaOf(table);
  const recorded = new Map<string, string>();
  meta?.columns.forEach((column, i) => recorded.set(column, meta.column_name_dtypes[i] ?? ''));
  const types = new Map<string, LabelType>();
  for (const column of dataColumnsOf(table)) {
    const dtype = recorded.get(column);
    types.set(column, dtype === undefined ? 'str' : labelTypeOfDtype(dtype));
  }
  return types;
}

/** The data column labels as Python had them: numbers for int and float labels. */
export function columnLabels(table: { schema: Schema; numRows: number }): (string | number)[] {
  return [...columnLabelTypes(table)].map(([label, type]) => (type === 'str' ? label : Number(label)));
}

/** The object_meta.json a table was read with, if any. */
export function objectMetaOf(table: { schema: Schema }): ObjectMetaJson | undefined {
  return cachedParse(table.schema, OBJECT_META_KEY, (text) => {
    try {
      return JSON.parse(text) as ObjectMetaJson;
    } catch {
      return undefined;
    }
  });
}

export function labelTypeOfDtype(dtype: string): LabelType {
  if (/^(int|uint|<i|<u|\|i|\|u)/.test(dtype)) return 'int';
  if (/^(float|<f)/.test(dtype)) return 'float';
  return 'str';
}

/** numpy's dtype string of a label: what `str(np.array(label).dtype)` gives in Python. */
export function labelDtype(label: string, type: LabelType): string {
  if (type === 'int') return 'int64';
  if (type === 'float') return 'float64';
  return `<U${Math.max(1, [...label].length)}`;
}

/** Returns the table with new schema metadata (the data is shared, not copied). */
export function withSchemaMetadata(table: Table, entries: Record<string, string | undefined>): Table {
  const metadata = new Map(table.schema.metadata);
  for (const [key, value] of Object.entries(entries)) {
    if (value === undefined) metadata.delete(key);
    else metadata.set(key, value);
  }
  return replaceSchema(table, new Schema(table.schema.fields, metadata));
}

/** The same columns in another order, or under a schema with other metadata. */
export function replaceSchema(table: Table, schema: Schema, order?: number[]): Table {
  const indexes = order ?? schema.fields.map((_, i) => i);
  const batches = table.batches.map((batch) => recordBatchOf(schema, makeData({
    type: new Struct(schema.fields), length: batch.numRows, nullCount: 0,
    children: indexes.map((i) => batch.data.children[i] as never),
  })));
  if (batches.length === 0 && table.numRows === 0) return new Table(schema);
  return new Table(schema, batches);
}

/** Marks `column` as the frame's index (its label becomes the index name, as pandas does). */
export function withIndex(table: Table, column: string): Table {
  if (!table.schema.fields.some((f) => f.name === column)) {
    throw new FrameError(`index column '${column}' is not a column of the frame`);
  }
  const metadata = buildPandasMetadata(table.schema, { kind: 'columns', columns: [column], names: [column === '__index_level_0__' ? null : column] });
  return withSchemaMetadata(table, { [PANDAS_KEY]: ownPandasText(metadata) });
}

/** The table with a default (range) index described by `range`. */
export function withRangeIndex(table: Table, range: FrameIndex & { kind: 'range' }): Table {
  return withSchemaMetadata(table, { [PANDAS_KEY]: ownPandasText(buildPandasMetadata(table.schema, range)) });
}

/** Records what the data column labels were in Python (the rest stay strings). */
export function withColumnLabelTypes(table: Table, types: Record<string, LabelType>): Table {
  const meta = buildObjectMeta(table, types);
  return withSchemaMetadata(table, { [OBJECT_META_KEY]: JSON.stringify(meta) });
}

/**
 * object_meta.json for a frame, exactly as ISF writes it. A label's type: `types[label]`, else
 * `every` (the type of all labels not listed), else what the table was read with, else 'str'.
 */
export function buildObjectMeta(table: { schema: Schema; numRows: number }, types?: Record<string, LabelType>, every?: LabelType): ObjectMetaJson {
  const previous = columnLabelTypes(table);
  const index = frameIndexOf(table);
  const columns = dataColumnsOf(table);
  const isDataColumn = new Set(columns);
  for (const [label, type] of Object.entries(types ?? {})) {
    if (!isDataColumn.has(label)) throw new FrameError(`label type given for '${label}', which is not a data column`);
    checkLabel(label, type);
  }
  // own properties only: a column may be named 'constructor' or 'toString'
  const listed = (label: string): LabelType | undefined => (types !== undefined && Object.hasOwn(types, label) ? types[label] : undefined);
  if (every !== undefined) for (const label of columns) if (listed(label) === undefined) checkLabel(label, every);
  const typeOf = (label: string): LabelType => listed(label) ?? every ?? previous.get(label) ?? 'str';
  const fields = new Map(table.schema.fields.map((f) => [f.name, f]));
  const meta: ObjectMetaJson = {
    columns,
    column_name_dtypes: columns.map((c) => labelDtype(c, typeOf(c))),
    index_dtype: index.kind === 'range' ? 'int64' : pandasDtypeOf((fields.get(index.columns[0] ?? '') as Field).type),
    dtypes: columns.map((c) => metaDtypeOf((fields.get(c) as Field).type)),
  };
  const indexName = index.kind === 'range' ? index.name : index.names[0] ?? null;
  if (indexName !== null) {
    meta.index_name = indexName;
    meta.index_name_dtype = labelDtype(indexName, 'str');
  }
  return meta;
}

function checkLabel(label: string, type: LabelType): void {
  if (type !== 'str' && !Number.isFinite(Number(label))) throw new FrameError(`column label '${label}' cannot be a Python ${type}`);
  if (type === 'int' && !/^-?\d+$/.test(label)) throw new FrameError(`column label '${label}' is not an int`);
}

const FLOAT_DTYPES = ['float16', 'float32', 'float64'] as const;

/** The pandas dtype an Arrow column becomes (what `str(df[c].dtype)` prints). */
export function pandasDtypeOf(type: DataType): string {
  switch (type.typeId) {
    case Type.Float: return FLOAT_DTYPES[(type as unknown as { precision: number }).precision] ?? 'float64';
    case Type.Int: {
      const { bitWidth, isSigned } = type as unknown as { bitWidth: number; isSigned: boolean };
      return `${isSigned ? '' : 'u'}int${bitWidth}`;
    }
    case Type.Bool: return 'bool';
    case Type.Dictionary: return 'category';
    case Type.Timestamp: {
      const { unit, timezone } = type as unknown as { unit: TimeUnit; timezone: string | null };
      // pandas < 2 holds every datetime in nanoseconds.
      void unit;
      return timezone ? `datetime64[ns, ${timezone}]` : 'datetime64[ns]';
    }
    default: return 'object';
  }
}

/**
 * A column dtype of object_meta.json, from which ISF builds the empty frame (a pd.Series per
 * column) that dask checks every partition against. Strings are 'str': pandas 2 makes that
 * 'object', as before, and pandas 3 its string dtype, which is how pandas 3 reads the Parquet
 * column (with 'object', dask refused every partition under pandas 3).
 */
function metaDtypeOf(type: DataType): string {
  return type.typeId === Type.Utf8 || type.typeId === Type.LargeUtf8 ? 'str' : pandasDtypeOf(type);
}

/** One entry of the pandas metadata's `columns` (built for every column of wide frames: no spreads). */
function pandasColumnOf(name: string | null, fieldName: string, type: DataType): PandasColumn {
  const [pandasType, numpyType, metadata] = pandasTypesOf(type);
  return { name, field_name: fieldName, pandas_type: pandasType, numpy_type: numpyType, metadata };
}

function pandasTypesOf(type: DataType): [string, string, Record<string, unknown> | null] {
  switch (type.typeId) {
    case Type.Float: case Type.Int: case Type.Bool: {
      const dtype = pandasDtypeOf(type);
      return [dtype, dtype, null];
    }
    case Type.Dictionary: {
      const indices = (type as unknown as { indices: DataType }).indices;
      return ['categorical', pandasDtypeOf(indices), { num_categories: null, ordered: (type as unknown as { isOrdered: boolean }).isOrdered }];
    }
    case Type.Timestamp: {
      const timezone = (type as unknown as { timezone: string | null }).timezone;
      return timezone ? ['datetimetz', 'datetime64[ns]', { timezone }] : ['datetime', 'datetime64[ns]', null];
    }
    case Type.Date: return ['date', 'object', null];
    default: return ['unicode', 'object', null];
  }
}

/**
 * The `pandas` metadata for this frame. Unlike pyarrow it lists only the stored index columns:
 * pyarrow takes every other column's name and dtype from the Parquet schema, and the entries
 * (~100 bytes each) dominated the footers of ISF's 10,000-column trace frames. When every data
 * label was a Python float (`floatLabels`), `column_indexes` says so and pandas restores float
 * labels itself. The creator names this library; pandas_version is that of ISF's environment.
 */
export function buildPandasMetadata(schema: Schema, index: FrameIndex, options: { floatLabels?: boolean } = {}): PandasMetadata {
  const columns: PandasColumn[] = [];
  if (index.kind === 'columns') {
    index.columns.forEach((column, i) => {
      const field = schema.fields.find((f) => f.name === column) as Field;
      columns.push(pandasColumnOf(index.names[i] ?? null, column, field.type));
    });
  }
  const columnIndex = options.floatLabels
    ? { name: null, field_name: null, pandas_type: 'float64', numpy_type: 'float64', metadata: null }
    : { name: null, field_name: null, pandas_type: 'unicode', numpy_type: 'object', metadata: { encoding: 'UTF-8' } };
  return {
    index_columns: index.kind === 'columns'
      ? index.columns
      : [{ kind: 'range', name: index.name, start: index.start, stop: index.stop, step: index.step }],
    column_indexes: [columnIndex],
    columns,
    creator: { library: 'isf-data-base', version: '0.1.0' },
    pandas_version: '1.1.3',
  };
}

/**
 * The table as it is written: pandas metadata matching its rows, stored index columns last
 * (as pyarrow orders them), and our own object_meta key removed.
 */
export function frameForWriting(table: Table, indexColumn?: string, rangeStart?: number, floatLabels = false): Table {
  let index = frameIndexOf(table);
  if (indexColumn !== undefined) {
    if (!table.schema.fields.some((f) => f.name === indexColumn)) throw new FrameError(`index column '${indexColumn}' is not a column of the frame`);
    index = { kind: 'columns', columns: [indexColumn], names: [indexColumn === '__index_level_0__' ? null : indexColumn] };
  }
  if (index.kind === 'range') {
    // A partition's range index continues where the previous partition's stopped.
    const start = rangeStart ?? index.start;
    index = { ...index, start, stop: start + index.step * table.numRows };
  }
  const indexColumns = index.kind === 'columns' ? index.columns : [];
  const fields = table.schema.fields;
  const order = [
    ...fields.map((_, i) => i).filter((i) => !indexColumns.includes((fields[i] as Field).name)),
    ...indexColumns.map((c) => fields.findIndex((f) => f.name === c)),
  ];
  const metadata = new Map(table.schema.metadata);
  metadata.delete(OBJECT_META_KEY);
  metadata.set(PANDAS_KEY, ownPandasText(buildPandasMetadata(table.schema, index, { floatLabels })));
  const schema = new Schema(order.map((i) => fields[i] as Field), metadata);
  return replaceSchema(table, schema, order);
}

/**
 * The table with its dictionary-encoded string columns typed as plain strings. apache-arrow makes
 * every string column of `tableFromArrays` a dictionary; as a pandas `category` whose categories
 * differ per partition it breaks dask's meta check in ISF's loader, so partitioned frames store
 * them as strings. Only the fields change: the columns keep their dictionary-encoded data, which
 * the Parquet writer reads by key (one lookup per distinct value, not a hash per row) and stores
 * as a string column (dictionary-encoded in Parquet where it pays).
 */
export function withPlainStrings(table: Table): Table {
  if (!table.schema.fields.some((f) => f.type.typeId === Type.Dictionary)) return table;
  const fields = table.schema.fields.map((f) => (f.type.typeId === Type.Dictionary ? f.clone({ type: new Utf8() }) : f));
  return replaceSchema(table, new Schema(fields, table.schema.metadata));
}

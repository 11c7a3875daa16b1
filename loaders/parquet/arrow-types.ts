/**
 * How an Arrow column maps to a Parquet column, in both directions, and the serialized Arrow
 * schema that pyarrow stores under `ARROW:schema` (it restores categoricals, int8/16, unsigned
 * and timestamp units exactly).
 */
import {
  type DataType, type Field, type Schema, Type, TimeUnit, Table, MessageReader, tableToIPC,
  Float32, Float64, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Bool, Utf8,
  TimestampSecond, TimestampMillisecond, TimestampMicrosecond, TimestampNanosecond, DateDay,
} from 'apache-arrow';
import { PhysicalType, ConvertedType, Repetition, type SchemaElement, type LogicalType } from './format.js';

/** Thrown for an Arrow type this codec cannot store; callers turn it into a typed error. */
export class UnsupportedTypeError extends Error {}

const INT_CONVERTED: Record<string, number> = {
  'true8': ConvertedType.int8, 'true16': ConvertedType.int16, 'true32': ConvertedType.int32, 'true64': ConvertedType.int64,
  'false8': ConvertedType.uint8, 'false16': ConvertedType.uint16, 'false32': ConvertedType.uint32, 'false64': ConvertedType.uint64,
};

const KNOWN_CONVERTED = new Set<number>(Object.values(ConvertedType));

/** The Parquet schema element of one Arrow field (always OPTIONAL, as pyarrow writes them). */
export function parquetElementOf(field: Field): SchemaElement {
  const base = { name: field.name, repetition: Repetition.optional };
  const type: DataType = field.type;
  switch (type.typeId) {
    case Type.Float:
      if ((type as Float32 | Float64).precision === 1) return { ...base, type: PhysicalType.float };
      if ((type as Float32 | Float64).precision === 2) return { ...base, type: PhysicalType.double };
      break;
    case Type.Int: {
      const { bitWidth, isSigned } = type as unknown as { bitWidth: number; isSigned: boolean };
      const logicalType: LogicalType = { kind: 'integer', bitWidth, signed: isSigned };
      const convertedType = INT_CONVERTED[`${isSigned}${bitWidth}`];
      return { ...base, type: bitWidth === 64 ? PhysicalType.int64 : PhysicalType.int32, logicalType, ...(convertedType === undefined ? {} : { convertedType }) };
    }
    case Type.Bool:
      return { ...base, type: PhysicalType.boolean };
    case Type.Utf8:
    case Type.LargeUtf8:
      return { ...base, type: PhysicalType.byteArray, logicalType: { kind: 'string' }, convertedType: ConvertedType.utf8 };
    case Type.Dictionary: {
      const valueType = (type as unknown as { dictionary: DataType }).dictionary;
      if (valueType.typeId === Type.Utf8) {
        return { ...base, type: PhysicalType.byteArray, logicalType: { kind: 'string' }, convertedType: ConvertedType.utf8 };
      }
      break;
    }
    case Type.Timestamp: {
      const ts = type as TimestampNanosecond;
      // Parquet has no seconds unit: seconds are stored as milliseconds.
      const unit = ts.unit === TimeUnit.NANOSECOND ? 'ns' : ts.unit === TimeUnit.MICROSECOND ? 'us' : 'ms';
      const converted = unit === 'ms' ? { convertedType: ConvertedType.timestampMillis } : unit === 'us' ? { convertedType: ConvertedType.timestampMicros } : {};
      return { ...base, type: PhysicalType.int64, logicalType: { kind: 'timestamp', unit, utc: ts.timezone != null }, ...converted };
    }
    case Type.Date:
      if ((type as DateDay).unit === 0) return { ...base, type: PhysicalType.int32, logicalType: { kind: 'date' }, convertedType: ConvertedType.date };
      break;
    default:
      break;
  }
  throw new UnsupportedTypeError(`column '${field.name}': Arrow type ${String(type)} cannot be stored in Parquet by this codec`);
}

/**
 * Whether pyarrow needs the serialized Arrow schema to restore these types: categoricals,
 * time zones and second timestamps; every other type follows from the Parquet schema alone.
 */
export function needsArrowSchema(schema: Schema): boolean {
  return schema.fields.some((field) => {
    const type: DataType = field.type;
    if (type.typeId === Type.Dictionary) return true;
    if (type.typeId === Type.Timestamp) return isSecondsTimestamp(type) || (type as TimestampNanosecond).timezone != null;
    return false;
  });
}

/** The Arrow type to read a Parquet column as, when the file has no usable `ARROW:schema`. */
export function arrowTypeOf(element: SchemaElement): DataType {
  const logical = element.logicalType;
  const converted = element.convertedType;
  // Decimals, intervals, JSON, UUID...: left to a reader that knows them.
  if (logical?.kind === 'other' || (converted !== undefined && !KNOWN_CONVERTED.has(converted))) {
    throw new UnsupportedTypeError(`column '${element.name}': Parquet annotation ${logical?.kind === 'other' ? `logical type ${logical.id}` : `converted type ${converted}`} is not supported by this reader`);
  }
  switch (element.type) {
    case PhysicalType.boolean: return new Bool();
    case PhysicalType.float: return new Float32();
    case PhysicalType.double: return new Float64();
    case PhysicalType.int32: {
      if (logical?.kind === 'date' || converted === ConvertedType.date) return new DateDay();
      const int = integerOf(logical, converted);
      if (int) return intType(int.bitWidth, int.signed);
      return new Int32();
    }
    case PhysicalType.int64: {
      if (logical?.kind === 'timestamp') return timestampType(logical.unit, logical.utc ? 'UTC' : null);
      if (converted === ConvertedType.timestampMillis) return timestampType('ms', null);
      if (converted === ConvertedType.timestampMicros) return timestampType('us', null);
      const int = integerOf(logical, converted);
      return int && !int.signed ? new Uint64() : new Int64();
    }
    case PhysicalType.byteArray:
      if (logical?.kind === 'string' || converted === ConvertedType.utf8) return new Utf8();
      throw new UnsupportedTypeError(`column '${element.name}': binary values (BYTE_ARRAY without a string annotation)`);
    default:
      throw new UnsupportedTypeError(`column '${element.name}': Parquet physical type ${element.type} is not supported by this reader`);
  }
}

function integerOf(logical: LogicalType | undefined, converted: number | undefined): { bitWidth: number; signed: boolean } | undefined {
  if (logical?.kind === 'integer') return { bitWidth: logical.bitWidth, signed: logical.signed };
  for (const [key, value] of Object.entries(INT_CONVERTED)) {
    if (value === converted) return { bitWidth: Number(key.replace(/^(true|false)/, '')), signed: key.startsWith('true') };
  }
  return undefined;
}

function intType(bitWidth: number, signed: boolean): DataType {
  if (bitWidth === 8) return signed ? new Int8() : new Uint8();
  if (bitWidth === 16) return signed ? new Int16() : new Uint16();
  if (bitWidth === 64) return signed ? new Int64() : new Uint64();
  return signed ? new Int32() : new Uint32();
}

function timestampType(unit: 'ms' | 'us' | 'ns', timezone: string | null): DataType {
  if (unit === 'ns') return new TimestampNanosecond(timezone);
  if (unit === 'us') return new TimestampMicrosecond(timezone);
  return new TimestampMillisecond(timezone);
}

/** Arrow's seconds unit is written as milliseconds (see parquetElementOf). */
export function isSecondsTimestamp(type: DataType): boolean {
  return type.typeId === Type.Timestamp && (type as TimestampSecond).unit === TimeUnit.SECOND;
}

/** The IPC schema message pyarrow stores base64-encoded under the `ARROW:schema` key. */
export function serializeArrowSchema(schema: Schema): string {
  // The partitions of a key share their schema; for 10,001 voltage columns one serialisation
  // costs ~35 ms, describing the schema as a string ~1 ms.
  const signature = schemaSignature(schema);
  const cached = serializedSchemas.get(signature);
  if (cached !== undefined) return cached;
  const stream = tableToIPC(new Table(schema), 'stream');
  // Drop the 8-byte end-of-stream marker: what remains is the schema message.
  const serialized = Buffer.from(stream.subarray(0, stream.length - 8)).toString('base64');
  if (serializedSchemas.size >= SERIALIZED_SCHEMAS_KEPT) serializedSchemas.delete(serializedSchemas.keys().next().value as string);
  serializedSchemas.set(signature, serialized);
  return serialized;
}

/** `String(type)` omits what a dictionary's IPC description holds besides its types. */
function typeSignature(type: DataType): string {
  if (type.typeId !== Type.Dictionary) return String(type);
  const dictionary = type as unknown as { id: number; isOrdered: boolean };
  return `${String(type)}#${dictionary.id}#${dictionary.isOrdered ? 1 : 0}`;
}

const SERIALIZED_SCHEMAS_KEPT = 4;
const serializedSchemas = new Map<string, string>();

/** Everything the IPC schema message holds: names, types (children included), nullability, metadata. */
function schemaSignature(schema: Schema): string {
  const fields = schema.fields.map((f) => `${f.name}\u0001${typeSignature(f.type)}\u0001${f.nullable ? 1 : 0}\u0001${f.metadata.size > 0 ? JSON.stringify([...f.metadata]) : ''}`);
  return `${fields.join('\u0002')}\u0003${JSON.stringify([...schema.metadata])}`;
}

export function deserializeArrowSchema(base64: string): Schema | undefined {
  try {
    // MessageReader reads just the schema; tableFromIPC would also build an empty batch.
    return new MessageReader(Buffer.from(base64, 'base64')).readSchema() ?? undefined;
  } catch {
    return undefined;
  }
}

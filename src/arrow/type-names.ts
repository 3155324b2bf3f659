// Column types as CloudQuery users read them (`uuid`, `json`, `decimal(10,2)`, `timestamp[us, UTC]`,
// `list<int64>`), instead of apache-arrow's internal names (`FixedSizeBinary[16]`, `Decimal[10e+2]`).
import { DataType, Field, TimeUnit, type Decimal, type FixedSizeBinary, type Time, type Timestamp } from 'apache-arrow';
import { MD_EXTENSION_NAME } from './schema.js';

const UNITS: Record<number, string> = {
  [TimeUnit.SECOND]: 's',
  [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us',
  [TimeUnit.NANOSECOND]: 'ns',
};

/** The type of a column, by its CloudQuery extension name when it has one. */
export function fieldTypeName(field: Field): string {
  return field.metadata.get(MD_EXTENSION_NAME) || typeName(field.type);
}

export function typeName(type: DataType): string {
  if (DataType.isInt(type)) return `${type.isSigned ? 'int' : 'uint'}${type.bitWidth}`;
  if (DataType.isFloat(type)) return `float${[16, 32, 64][type.precision]}`;
  if (DataType.isBool(type)) return 'bool';
  if (DataType.isUtf8(type)) return 'utf8';
  if (DataType.isLargeUtf8(type)) return 'large_utf8';
  if (DataType.isBinary(type)) return 'binary';
  if (DataType.isLargeBinary(type)) return 'large_binary';
  if (DataType.isFixedSizeBinary(type)) return `fixed_size_binary[${(type as FixedSizeBinary).byteWidth}]`;
  if (DataType.isDecimal(type)) return `decimal(${(type as Decimal).precision},${(type as Decimal).scale})`;
  if (DataType.isDate(type)) return type.unit === 0 ? 'date32' : 'date64';
  if (DataType.isTimestamp(type)) {
    const { unit, timezone } = type as Timestamp;
    return `timestamp[${UNITS[unit]}${timezone ? `, ${timezone}` : ''}]`;
  }
  if (DataType.isTime(type)) return `time${(type as Time).bitWidth}[${UNITS[(type as Time).unit]}]`;
  if (DataType.isList(type) || DataType.isFixedSizeList(type)) return `list<${fieldTypeName(type.children[0]!)}>`;
  if (DataType.isStruct(type)) return `struct<${type.children.map((c) => `${c.name}: ${fieldTypeName(c)}`).join(', ')}>`;
  if (DataType.isMap(type)) {
    const [key, value] = type.children[0]!.type.children as Field[];
    return `map<${fieldTypeName(key!)}, ${fieldTypeName(value!)}>`;
  }
  if (DataType.isNull(type)) return 'null';
  return String(type).toLowerCase();
}

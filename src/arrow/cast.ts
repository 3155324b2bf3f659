// Casting one decoded column to a declared type. A column already of the type passes through untouched;
// otherwise every value is read exactly (cast-read.ts), converted (cast-convert.ts) and the column rebuilt
// (cast-build.ts). A value that does not convert is handed to `fail` with its row and the reason, and its
// cell is null.
import { DataType, type Data, type Field, type List } from 'apache-arrow';
import { buildData } from './cast-build.js';
import { convert, Failure, type BoolWords, type Storage, type Target } from './cast-convert.js';
import { valueReader, type Value } from './cast-read.js';
import { MD_EXTENSION_NAME, sameType } from './schema.js';

export type { BoolWords, Target };

/** A value that did not cast: its row in the column (0-based), the value and why. */
export type CastFailure = (row: number, value: Value, reason: string) => void;

/** The cast target of a declared field: its type, CloudQuery extension, and a list's item target. */
export function targetOf(field: Field): Target {
  const item = DataType.isList(field.type) ? targetOf((field.type as List).children[0]!) : undefined;
  return { type: field.type, extension: field.metadata.get(MD_EXTENSION_NAME) || undefined, item };
}

/** Whether a file column of `source` is already exactly the target (no value needs converting). */
export function castNeeded(source: Field, target: Target): boolean {
  const extension = source.metadata.get(MD_EXTENSION_NAME) || undefined;
  if (extension !== target.extension) return true;
  if (DataType.isList(target.type)) return !sameType(source.type, target.type) || castNeeded(source.type.children[0]!, target.item!);
  return !sameType(source.type, target.type);
}

/** `data` (a column of `source`) as the target type; values that do not convert are null and go to `fail`. */
export function castData(data: Data, source: Field, target: Target, words: BoolWords, fail: CastFailure): Data {
  if (!castNeeded(source, target)) return data;
  const read = valueReader(data, source.metadata.get(MD_EXTENSION_NAME));
  const values: (Storage | null)[] = new Array<Storage | null>(data.length);
  for (let i = 0; i < data.length; i++) {
    const value = read(i);
    if (value === null) {
      values[i] = null;
      continue;
    }
    const converted = convert(value, target, words);
    if (converted instanceof Failure) {
      fail(i, value, converted.reason);
      values[i] = null;
    } else values[i] = converted;
  }
  return buildData(target, values);
}

// What every Arrow column of a text file shares: its length, its validity bitmap (grown with the
// column), and the makeData call that wraps its buffers.
import { makeData, type Data, type DataType } from 'apache-arrow';

/** The validity bitmap and length every column shares. */
export abstract class Base {
  length = 0;
  protected nulls = 0;
  protected validity: Uint8Array;

  constructor(capacity: number) {
    this.validity = new Uint8Array((capacity + 7) >> 3);
  }

  resize(capacity: number): void {
    this.validity = grown(this.validity, (capacity + 7) >> 3);
  }

  appendNull(): void {
    this.skip();
    this.nulls++;
    this.length++;
  }

  /** Leaves the current slot's value as it is (zero), for a null. */
  protected abstract skip(): void;

  protected valid(): void {
    const i = this.length++;
    this.validity[i >> 3]! |= 1 << (i & 7);
  }

  protected data(type: DataType, buffers: { data?: ArrayBufferView; valueOffsets?: Int32Array }): Data {
    const nullBitmap = this.nulls > 0 ? this.validity.subarray(0, (this.length + 7) >> 3) : undefined;
    return makeData({ type, length: this.length, nullCount: this.nulls, nullBitmap, ...buffers } as never);
  }
}

/** `array` copied into a new one of `length` elements (or itself when already that long). */
export function grown<T extends Uint8Array | Int32Array | Float64Array | BigInt64Array>(array: T, length: number): T {
  if (array.length >= length) return array;
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array as never);
  return next;
}

// Utf8 and JSON columns of text files: UTF-8 bytes in one growing buffer with int32 offsets, written from
// strings (CSV cells, decoded JSON strings) or copied as bytes when the JSON text they come from is ASCII.
import type { Data, DataType } from 'apache-arrow';
import { Base, grown } from './column-base.js';
import { K_NESTED_SPACED, K_STRING, K_STRING_ESCAPED, K_TRUE, jsonText, plainText, type JsonKind } from './json-tokens.js';

/** Text up to this many characters is encoded by a loop when it is ASCII (measured faster than Buffer#write). */
const SHORT_TEXT = 64;

/** Utf8 or JSON (binary) values: UTF-8 bytes written into one growing buffer, with int32 offsets. */
export class TextColumn extends Base {
  private offsets: Int32Array;
  private buffer: Buffer;
  private used = 0;
  constructor(
    capacity: number,
    /** JSON text (CloudQuery's json type) rather than plain text (utf8). */
    private readonly json: boolean,
  ) {
    super(capacity);
    this.offsets = new Int32Array(capacity + 1);
    this.buffer = Buffer.allocUnsafeSlow(Math.max(256, capacity * 16));
  }
  override resize(capacity: number): void {
    super.resize(capacity);
    this.offsets = grown(this.offsets, capacity + 1);
  }
  get bytes() {
    return this.used + this.length * 4;
  }
  protected skip() {
    this.offsets[this.length + 1] = this.used;
  }
  appendText(text: string): true {
    const n = text.length;
    // Room for the worst case (3 UTF-8 bytes per UTF-16 unit) before writing, so no write is cut short.
    if (this.used + n * 3 > this.buffer.byteLength) this.grow(n * 3);
    const to = this.buffer;
    const at = this.used;
    // ASCII text of up to SHORT_TEXT characters is written by a loop, cheaper than a call into Buffer#write.
    let i = 0;
    if (n <= SHORT_TEXT) {
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        to[at + i] = c;
      }
    }
    this.used = i === n ? at + n : at + to.write(text, at);
    return this.ended();
  }
  appendJson(kind: JsonKind, src: string, start: number, end: number, ascii?: Buffer): true {
    if (ascii && kind !== K_STRING_ESCAPED && kind !== K_NESTED_SPACED && kind > K_TRUE) {
      // A JSON string's text includes its quotes; a utf8 column takes its content only.
      return this.json && kind === K_STRING ? this.copy(ascii, start - 1, end + 1) : this.copy(ascii, start, end);
    }
    return this.appendText(this.json ? jsonText(kind, src, start, end) : plainText(kind, src, start, end));
  }
  /** Bytes [start, end) of `from`, as they are. */
  private copy(from: Buffer, start: number, end: number): true {
    const length = end - start;
    if (this.used + length > this.buffer.byteLength) this.grow(length);
    // A loop: Buffer#copy and TypedArray#set (with the view it needs) cost more than the copy itself
    // for values of up to a few hundred bytes, which is what columns mostly hold.
    const to = this.buffer;
    const at = this.used;
    if (length > 512) to.set(from.subarray(start, end), at);
    else for (let i = 0; i < length; i++) to[at + i] = from[start + i]!;
    this.used = at + length;
    return this.ended();
  }
  private ended(): true {
    this.offsets[this.length + 1] = this.used;
    this.valid();
    return true;
  }
  private grow(need: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(this.buffer.byteLength * 2, this.used + need));
    this.buffer.copy(next, 0, 0, this.used);
    this.buffer = next;
  }
  finish(type: DataType): Data {
    const data = new Uint8Array(this.buffer.buffer, this.buffer.byteOffset, this.used);
    return this.data(type, { data, valueOffsets: this.offsets.subarray(0, this.length + 1) });
  }
}

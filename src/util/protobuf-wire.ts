// The few pieces of the protobuf wire format the plugin handles by hand: framing insert responses in
// place (the hot path), and decoding replies whose generated decoders fail (discovery GetVersions).

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Bytes a varint encoding of `n` (a non-negative safe integer) takes. */
export function varintLength(n: number): number {
  let length = 1;
  for (; n >= 0x80; n = Math.floor(n / 0x80)) length++;
  return length;
}

/** Writes `n` as a varint at `at`; returns the position after it. */
export function writeVarint(out: Uint8Array, at: number, n: number): number {
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out[at++] = (n & 0x7f) | 0x80;
  out[at++] = n;
  return at;
}

/** The tag byte of a length-delimited field (field numbers below 16). */
export function lengthDelimitedTag(field: number): number {
  return (field << 3) | WIRE_LENGTH_DELIMITED;
}

export interface WireField {
  field: number;
  wire: number;
  /** The value of a varint field. */
  varint?: number;
  /** The body of a length-delimited field (a view, not a copy). */
  bytes?: Uint8Array;
  /** The encoded varint(s): the varint itself, or a length-delimited body (packed repeated varints). */
  raw?: Uint8Array;
}

/** Reads varints from `bytes[pos, end)`; values beyond 2^53 lose precision (none here come near). */
class WireReader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    return this.read().value;
  }

  /** A varint as int32: its low 32 bits, exact even where the whole value is not (negative numbers). */
  int32(): number {
    return this.read().low32 | 0;
  }

  private read(): { value: number; low32: number } {
    let value = 0;
    let low32 = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new Error('malformed protobuf: truncated varint');
      const byte = this.bytes[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (shift < 32) low32 |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return { value, low32 };
    }
    throw new Error('malformed protobuf: varint too long');
  }

  skip(length: number): Uint8Array {
    if (this.pos + length > this.end) throw new Error('malformed protobuf: truncated field');
    const body = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return body;
  }
}

/** The fields of one message, in order; fixed-width fields are skipped over. */
export function* readFields(bytes: Uint8Array): Generator<WireField> {
  const reader = new WireReader(bytes, 0, bytes.length);
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === WIRE_VARINT) {
      const start = reader.pos;
      const varint = reader.varint();
      yield { field, wire, varint, raw: bytes.subarray(start, reader.pos) };
    } else if (wire === WIRE_LENGTH_DELIMITED) {
      const body = reader.skip(reader.varint());
      yield { field, wire, bytes: body, raw: body };
    } else if (wire === WIRE_FIXED64) reader.skip(8);
    else if (wire === WIRE_FIXED32) reader.skip(4);
    else throw new Error(`malformed protobuf: unsupported wire type ${wire}`);
  }
}

/** A `repeated int32` field, packed or not. */
export function readRepeatedInt32(bytes: Uint8Array, field: number): number[] {
  const values: number[] = [];
  for (const f of readFields(bytes)) {
    if (f.field !== field || f.raw === undefined) continue;
    const reader = new WireReader(f.raw, 0, f.raw.length);
    while (!reader.done) values.push(reader.int32());
  }
  return values;
}

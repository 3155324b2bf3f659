// Types for the part of avsc's internal utils module the Avro reader uses (avsc ships none for it).
declare module 'avsc/lib/utils.js' {
  export class Tap {
    constructor(buf: Buffer, pos?: number);
    buf: Buffer;
    pos: number;
    readLong(): number;
    readInt(): number;
    readFloat(): number;
    readDouble(): number;
    readBoolean(): boolean;
    skipLong(): void;
    readString(): string;
  }
  const utils: { Tap: typeof Tap };
  export default utils;
}

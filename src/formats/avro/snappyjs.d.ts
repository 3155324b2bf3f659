// snappyjs ships no types: the parts used here (compress in tests only).
declare module 'snappyjs' {
  /** Throws when the declared uncompressed length is over `maxLength`, before allocating. */
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
}

declare module 'snappyjs/snappy_decompressor.js' {
  /** snappyjs's decompressor: uncompress() is this plus a new output array for every call. */
  export class SnappyDecompressor {
    constructor(compressed: Uint8Array);
    /** The declared uncompressed length, or -1 when it is not a valid varint. */
    readUncompressedLength(): number;
    /** Decompresses into `out` (exactly the declared length); false for a malformed stream. */
    uncompressToBuffer(out: Uint8Array): boolean;
  }
}

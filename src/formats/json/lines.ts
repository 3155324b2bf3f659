// JSON Lines text cut into lines: bytes up to each newline, decoded a run of whole lines at a time
// (one UTF-8 decode per 64 KiB rather than per line). A region with invalid UTF-8 is decoded line by
// line so only the bad lines are reported. A line longer than MAX_LINE_BYTES ends the file: memory stays
// bounded even for a file without newlines.
import { isUtf8 } from 'node:buffer';
import { ParseStop } from '../text/reader.js';
import type { Position } from './rows.js';

export const MAX_LINE_BYTES = 64 * 1024 * 1024;
/**
 * Bytes decoded into one string. V8 makes strings up to 64 KiB about 30 times faster than larger ones
 * (those go to its large-object space): measured 4 GB/s against 120 MB/s on the development machine.
 */
export const DECODE_BYTES = 64 * 1024;

export interface LineSink {
  /**
   * A line's text is [start, end) of `src` (no newline, no trailing CR); blank lines are not passed on.
   * `ascii`: the bytes `src` was decoded from, when they are all ASCII (offsets in both agree).
   * `noBackslash`: `src` holds no backslash (so no JSON escapes).
   */
  line(src: string, start: number, end: number, position: Position, ascii: Buffer | undefined, noBackslash: boolean): void;
  /** A line whose bytes are not UTF-8. */
  invalid(position: Position): void;
}

export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** The last line passed on (its `index` is the line number). */
  private readonly position: Position = { index: 0, line: 0 };
  private started = false;

  constructor(private readonly sink: LineSink) {}

  write(chunk: Uint8Array): void {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!this.started) {
      if (this.partBytes + bytes.length < 3) return this.keep(bytes);
      this.started = true;
      if (this.parts.length > 0) bytes = this.takeParts(bytes);
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    }
    if (this.parts.length > 0) {
      // Only the line the kept bytes begin is joined up; the rest of the chunk is read where it is.
      const newline = bytes.indexOf(10);
      if (newline < 0) return this.keep(bytes);
      this.region(this.takeParts(bytes.subarray(0, newline + 1)));
      bytes = bytes.subarray(newline + 1);
    }
    const last = bytes.lastIndexOf(10);
    if (last < 0) return this.keep(bytes);
    this.region(bytes.subarray(0, last + 1));
    // The rest of the chunk is kept as a copy: the chunk itself is not held for one partial line.
    this.keep(Buffer.from(bytes.subarray(last + 1)));
  }

  end(): void {
    // The last line may lack its newline (a file shorter than a byte-order mark has none to strip).
    const rest = this.takeParts(Buffer.alloc(0));
    if (rest.length > 0) this.region(Buffer.concat([rest, Buffer.from('\n')]));
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.partBytes += bytes.length;
    if (this.partBytes > MAX_LINE_BYTES) {
      throw new ParseStop(
        `line ${this.position.index + 1} is longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB; the rest of the file cannot be read`,
      );
    }
    this.parts.push(bytes);
  }

  private takeParts(tail: Buffer): Buffer {
    const whole = Buffer.concat([...this.parts, tail]);
    this.parts = [];
    this.partBytes = 0;
    return whole;
  }

  /** Whole lines (the region ends with a newline), decoded DECODE_BYTES at a time. */
  private region(bytes: Buffer): void {
    for (let from = 0; from < bytes.length;) {
      // Up to the last newline within DECODE_BYTES, or to the end of a line longer than that.
      let newline = bytes.lastIndexOf(10, Math.min(bytes.length, from + DECODE_BYTES) - 1);
      if (newline < from) newline = bytes.indexOf(10, from);
      const piece = bytes.subarray(from, newline + 1);
      if (isUtf8(piece)) this.lines(piece.toString('utf8'), piece);
      else this.invalidPiece(piece);
      from = newline + 1;
    }
  }

  /** Lines with invalid UTF-8 among them: decoded one by one, the bad ones reported. */
  private invalidPiece(bytes: Buffer): void {
    for (let from = 0; from < bytes.length;) {
      const newline = bytes.indexOf(10, from);
      const line = bytes.subarray(from, newline + 1);
      if (isUtf8(line)) this.lines(line.toString('utf8'), line);
      else {
        this.position.index++;
        this.position.line = this.position.index;
        this.sink.invalid(this.position);
      }
      from = newline + 1;
    }
  }

  /** Lines of a text ending with a newline. */
  private lines(text: string, bytes: Buffer): void {
    const { sink, position } = this;
    const ascii = bytes.length === text.length ? bytes : undefined;
    // One native search of the bytes (0x5C is never part of a longer UTF-8 sequence) for all its lines.
    const noBackslash = bytes.indexOf(92) < 0;
    for (let from = 0; from < text.length;) {
      const newline = text.indexOf('\n', from);
      position.index++;
      position.line = position.index;
      const end = newline > from && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      if (!isBlank(text, from, end)) sink.line(text, from, end, position, ascii, noBackslash);
      from = newline + 1;
    }
  }
}

function isBlank(text: string, from: number, end: number): boolean {
  for (let at = from; at < end; at++) {
    const c = text.charCodeAt(at);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

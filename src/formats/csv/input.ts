// A CSV file's bytes on their way to the parser: the byte-order mark dropped, latin1 and UTF-16LE turned
// into UTF-8 (the parser's one encoding), UTF-8 checked, and the first `skip_rows` lines skipped. In
// the sample, text that is not text at all (NUL bytes, invalid UTF-8) is a FormatError: the file is not
// CSV. Past the sample, invalid UTF-8 is read as U+FFFD and reported.
import { isUtf8 } from 'node:buffer';
import { FormatError } from '../../errors.js';
import type { CsvEncoding } from '../../spec-csv.js';

export interface InputOptions {
  encoding: CsvEncoding;
  skipRows: number;
  /** Sampling: text that is not text fails the file. */
  strict: boolean;
  /** A problem past the sample (invalid UTF-8), worded by the caller with the current line. */
  problem: (what: string) => void;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

export class CsvInput {
  private started = false;
  private tail: Buffer | undefined;
  private decoder: TextDecoder | undefined;
  private linesToSkip: number;
  private offset = 0;

  constructor(
    private readonly options: InputOptions,
    private readonly out: (bytes: Buffer) => void,
  ) {
    this.linesToSkip = options.skipRows;
    if (options.encoding === 'utf-16le') this.decoder = new TextDecoder('utf-16le');
  }

  write(chunk: Uint8Array): void {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.tail) {
      bytes = Buffer.concat([this.tail, bytes]);
      this.tail = undefined;
    }
    if (!this.started) {
      if (bytes.length < 3 && this.options.encoding === 'utf-8') {
        this.tail = bytes;
        return;
      }
      this.started = true;
      this.checkStart(bytes);
      if (this.options.encoding === 'utf-8' && UTF8_BOM.every((b, i) => bytes[i] === b)) bytes = bytes.subarray(3);
    }
    this.emit(this.utf8(bytes, false));
  }

  end(): void {
    const rest = this.tail ?? Buffer.alloc(0);
    this.tail = undefined;
    if (!this.started && rest.length > 0) {
      this.started = true;
      this.checkStart(rest);
    }
    this.emit(this.utf8(rest, true));
  }

  /** The bytes as UTF-8, ending on a character boundary (the rest waits for the next chunk). */
  private utf8(bytes: Buffer, last: boolean): Buffer {
    const { encoding } = this.options;
    if (encoding === 'latin1') return this.checkedText(bytes.toString('latin1'));
    if (encoding === 'utf-16le') return this.checkedText(this.decoder!.decode(bytes, { stream: !last }));
    const cut = last ? bytes.length : characterBoundary(bytes);
    if (cut < bytes.length) this.tail = Buffer.from(bytes.subarray(cut));
    const complete = bytes.subarray(0, cut);
    if (this.options.strict && complete.includes(0)) throw binary(complete.indexOf(0) + this.offset);
    if (!isUtf8(complete)) {
      if (this.options.strict) {
        throw new FormatError('not UTF-8 text (invalid byte sequences near its start): set csv.encoding if the file is latin1 or utf-16le');
      }
      this.options.problem('invalid UTF-8 bytes, read as U+FFFD (set csv.encoding if the file is not UTF-8)');
    }
    this.offset += complete.length;
    return complete;
  }

  private checkedText(text: string): Buffer {
    if (this.options.strict && text.includes('\u0000')) throw binary();
    return Buffer.from(text, 'utf8');
  }

  private checkStart(bytes: Buffer): void {
    // UTF-16 text read as UTF-8 shows as NUL bytes: say what to set.
    if (this.options.encoding !== 'utf-16le' && bytes[0] === 0xff && bytes[1] === 0xfe) {
      throw new FormatError('the file starts with a UTF-16LE byte-order mark: set csv.encoding to utf-16le');
    }
  }

  /** Passes the bytes on, after the lines skip_rows skips. */
  private emit(bytes: Buffer): void {
    while (this.linesToSkip > 0 && bytes.length > 0) {
      const newline = bytes.indexOf(10);
      if (newline < 0) return;
      bytes = bytes.subarray(newline + 1);
      this.linesToSkip--;
    }
    if (bytes.length > 0) this.out(bytes);
  }
}

function binary(at?: number): FormatError {
  return new FormatError(`not a text file: a NUL byte${at === undefined ? '' : ` at byte ${at}`} near its start`);
}

/** Where the last complete UTF-8 character of `bytes` ends (a sequence cut short is left for later). */
export function characterBoundary(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= 4 && back <= end; back++) {
    const byte = bytes[end - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? end - back : end;
  }
  return end;
}

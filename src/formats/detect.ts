// Which format (and outer compression) a key holds, from its extension: `.parquet`, `.csv`, `.tsv`,
// `.jsonl`, `.ndjson`, `.json`, `.avro`, any case, the text formats optionally followed by `.gz`,
// `.zst` or `.bz2`. Parquet and Avro compress inside the file, so a compressed copy of one (which
// could not be read by ranges) is not taken for a data file. Pure.
import type { FileType } from '../spec.js';

export type FormatName = Exclude<FileType, 'auto'>;
export type Compression = 'none' | 'gzip' | 'zstd' | 'bz2';

export interface FileKind {
  format: FormatName;
  compression: Compression;
}

const FORMAT_EXTENSIONS: [string, FormatName][] = [
  ['.parquet', 'parquet'],
  ['.csv', 'csv'],
  ['.tsv', 'tsv'],
  ['.jsonl', 'jsonl'],
  ['.ndjson', 'jsonl'],
  ['.json', 'json'],
  ['.avro', 'avro'],
];

const COMPRESSION_EXTENSIONS: [string, Compression][] = [
  ['.gz', 'gzip'],
  ['.zst', 'zstd'],
  ['.bz2', 'bz2'],
];

/** The kind of file `key` holds when it is one the spec's filetype reads (any format with `auto`). */
export function detectFile(key: string, filetype: FileType): FileKind | undefined {
  const parts = splitExtensions(key);
  if (!parts?.format) return undefined;
  const { format, compression } = parts;
  if (filetype !== 'auto' && format !== filetype) return undefined;
  if (compression !== 'none' && (format === 'parquet' || format === 'avro')) return undefined;
  return { format, compression };
}

/** The key without its format and compression extensions (`dir/a.csv.gz` -> `dir/a`). */
export function stripDataExtensions(key: string): string {
  const parts = splitExtensions(key);
  return parts ? key.slice(0, parts.stem) : key;
}

function splitExtensions(key: string): { format?: FormatName; compression: Compression; stem: number } | undefined {
  if (key.endsWith('/')) return undefined;
  const lower = key.toLowerCase();
  let end = lower.length;
  let compression: Compression = 'none';
  for (const [suffix, kind] of COMPRESSION_EXTENSIONS) {
    if (lower.endsWith(suffix)) {
      compression = kind;
      end -= suffix.length;
      break;
    }
  }
  const base = lower.slice(0, end);
  for (const [suffix, format] of FORMAT_EXTENSIONS) {
    if (base.endsWith(suffix)) return { format, compression, stem: end - suffix.length };
  }
  return { compression, stem: end };
}

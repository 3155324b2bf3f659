// The file formats the plugin reads, by the spec's `filetype`.
import type { FileFormat } from './types.js';
import { parquetFormat } from './parquet/index.js';

const FORMATS: Record<string, FileFormat> = { parquet: parquetFormat };

export function formatFor(filetype: string): FileFormat {
  const format = FORMATS[filetype];
  if (!format) throw new Error(`unsupported filetype "${filetype}"`);
  return format;
}

export type { BatchOptions, FileFormat, FileReader, OpenOptions } from './types.js';

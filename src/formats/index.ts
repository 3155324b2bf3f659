// The file formats the plugin reads. formatsFor(spec) is one FileFormat for the whole spec: it picks
// each object's format (and outer compression) from its key, as the spec's `filetype` says.
import { FormatError } from '../errors.js';
import type { ResolvedSpec } from '../spec.js';
import { detectFile, type FormatName } from './detect.js';
import { createAvroFormat } from './avro/index.js';
import { createCsvFormat } from './csv/index.js';
import { createJsonFormat } from './json/index.js';
import { parquetFormat } from './parquet/index.js';
import type { FileFormat } from './types.js';

/** The reader of each format, made for the spec's options. */
function formatTable(spec: ResolvedSpec): Record<FormatName, FileFormat> {
  return {
    parquet: parquetFormat,
    csv: createCsvFormat(spec, 'csv'),
    tsv: createCsvFormat(spec, 'tsv'),
    jsonl: createJsonFormat(spec, 'jsonl'),
    json: createJsonFormat(spec, 'json'),
    avro: createAvroFormat(spec),
  };
}

export function formatsFor(spec: ResolvedSpec): FileFormat {
  const formats = formatTable(spec);
  return {
    name: spec.filetype,
    open(source, options) {
      // Discovery has chosen the keys (by the spec's or a glob table's filetype): the extension says how to read each.
      const kind = detectFile(source.key, 'auto');
      const format = kind && formats[kind.format];
      if (!format) throw new FormatError(`no reader for this file's format (${source.key})`);
      return format.open(source, { ...options, compression: kind.compression });
    },
  };
}

export type { BatchOptions, FileFormat, FileReader, OpenOptions } from './types.js';

// CSV and TSV files (not yet read).
import { FormatError } from '../../errors.js';
import type { ResolvedSpec } from '../../spec.js';
import type { FileFormat } from '../types.js';

export function createCsvFormat(_spec: ResolvedSpec, name: 'csv' | 'tsv'): FileFormat {
  return {
    name,
    open: async () => {
      throw new FormatError(`${name} files are not read yet`);
    },
  };
}

// Avro object container files (not yet read).
import { FormatError } from '../../errors.js';
import type { ResolvedSpec } from '../../spec.js';
import type { FileFormat } from '../types.js';

export function createAvroFormat(_spec: ResolvedSpec): FileFormat {
  return {
    name: 'avro',
    open: async () => {
      throw new FormatError('avro files are not read yet');
    },
  };
}

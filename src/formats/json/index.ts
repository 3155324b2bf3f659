// JSON Lines and JSON files (not yet read).
import { FormatError } from '../../errors.js';
import type { ResolvedSpec } from '../../spec.js';
import type { FileFormat } from '../types.js';

export function createJsonFormat(_spec: ResolvedSpec, name: 'jsonl' | 'json'): FileFormat {
  return {
    name,
    open: async () => {
      throw new FormatError(`${name} files are not read yet`);
    },
  };
}

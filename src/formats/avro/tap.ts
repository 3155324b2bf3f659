// avsc's Tap: its cursor over a buffer, which every avsc type reads from (type._read(tap)). The package
// does not re-export it, so it comes from the module that defines it (avsc-utils.d.ts types it).
import utils from 'avsc/lib/utils.js';

export type Tap = InstanceType<typeof utils.Tap>;
export const Tap = utils.Tap;

/** An avsc type as the columns use it: its reader of one value. */
export interface AvscReader {
  _read(tap: Tap): unknown;
}

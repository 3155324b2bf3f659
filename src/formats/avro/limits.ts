// Limits on what a file can make the reader hold, shared by the modules that check them.

/** A block's compressed and its decompressed bytes are each refused beyond this size. */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

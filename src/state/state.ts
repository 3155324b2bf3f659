// The key/value state of incremental syncs. With a state backend (backend.ts) it lives in a
// destination plugin; without one, noState forgets everything, so every sync is a full sync and
// nothing else in the plugin has to ask whether there is a state.

export interface SyncState {
  /** The stored value, or undefined when the key was never set. */
  get(key: string): string | undefined;
  /** Buffered: nothing is sent until flush(). Setting the current value is a no-op. */
  set(key: string, value: string): void;
  /** Writes the changed keys now (none when nothing changed). Flushes run one at a time. */
  flush(): Promise<void>;
  /** Waits for a running flush, then closes the connection. Does not flush. */
  close(): Promise<void>;
}

/** No state backend: nothing is remembered, so every object is new to every sync. */
export const noState: SyncState = {
  get: () => undefined,
  set: () => {},
  flush: async () => {},
  close: async () => {},
};

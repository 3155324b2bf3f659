// The state backend client against a real destination plugin (the JS SDK's memdb, served over gRPC
// and initialized the way the CLI does it).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { tableFromIPC } from 'apache-arrow';
import { schemaOnlyIpc } from '../src/arrow/ipc.js';
import { openStateBackend } from '../src/state/backend.js';
import type { SyncState } from '../src/state/state.js';
import { stateTableSchema } from '../src/state/table.js';
import { freePort } from './support/free-port.js';
import { startStateBackend, type StateBackendServer } from './support/state-backend.js';

let backend: StateBackendServer;
let tableCount = 0;
/** A fresh state table per test: memdb keeps every table for the life of the server. */
const newTable = () => `cq_state_s3_${++tableCount}`;

const open = (tableName: string) => openStateBackend({ connection: backend.connection, tableName });

async function withClient<T>(tableName: string, body: (state: SyncState) => Promise<T>): Promise<T> {
  const state = await open(tableName);
  try {
    return await body(state);
  } finally {
    await state.close();
  }
}

describe('state backend client', () => {
  before(async () => {
    backend = await startStateBackend();
  });
  after(async () => {
    await backend?.stop();
  });

  it('reads an empty table: every key is undefined', async () => {
    const table = newTable();
    await withClient(table, async (state) => {
      assert.equal(state.get('s3/bucket/t/last_modified_cursor'), undefined);
      await state.flush(); // nothing changed: no write
    });
    assert.equal((await backend.rows(table)).length, 0);
  });

  it('keeps a flushed value for a new client', async () => {
    const table = newTable();
    await withClient(table, async (state) => {
      state.set('alpha', 'one');
      assert.equal(state.get('alpha'), 'one', 'visible before the flush');
      await state.flush();
    });
    assert.deepEqual(await backend.rows(table), [{ key: 'alpha', value: 'one', version: 1n }]);
    await withClient(table, async (state) => assert.equal(state.get('alpha'), 'one'));
  });

  it('does not write a set that is never flushed', async () => {
    const table = newTable();
    await withClient(table, async (state) => state.set('lost', 'value'));
    await withClient(table, async (state) => assert.equal(state.get('lost'), undefined));
  });

  it('overwrites a key in place: one row, the version counting up', async () => {
    const table = newTable();
    await withClient(table, async (state) => {
      state.set('k', 'v1');
      await state.flush();
      state.set('k', 'v2');
      await state.flush();
    });
    await withClient(table, async (state) => {
      assert.equal(state.get('k'), 'v2');
      state.set('k', 'v3');
      state.set('k', 'v3'); // same value again: no new version
      await state.flush();
    });
    assert.deepEqual(await backend.rows(table), [{ key: 'k', value: 'v3', version: 3n }]);
    await withClient(table, async (state) => assert.equal(state.get('k'), 'v3'));
  });

  it('round-trips 1000 keys in one flush, read back over several Read responses', async () => {
    const table = newTable();
    const expected = new Map(Array.from({ length: 1000 }, (_, i) => [`s3/bucket/table_${i}/last_modified_cursor`, `value ${i} é ✓`]));
    await withClient(table, async (state) => {
      for (const [key, value] of expected) state.set(key, value);
      await state.flush();
    });
    assert.deepEqual(await backend.entries(table), expected);
    const [readsBefore, responsesBefore] = [backend.readCalls(), backend.readResponses()];
    await withClient(table, async (state) => {
      for (const [key, value] of expected) assert.equal(state.get(key), value, key);
    });
    assert.equal(backend.readCalls(), readsBefore + 1, 'one Read call per open');
    assert.equal(backend.readResponses() - responsesBefore, 4, '1000 rows in responses of 256');
  });

  it("reads a cursor written in the Go plugin's format and moves it on", async () => {
    const table = newTable();
    const key = 's3/my-bucket/sales/last_modified_cursor';
    await backend.put(table, key, '2024-05-01T10:11:12.123456789Z');
    await backend.put(table, 's3/my-bucket/other/last_modified_cursor', '2024-04-30T00:00:00Z', { version: 7n });
    await withClient(table, async (state) => {
      assert.equal(state.get(key), '2024-05-01T10:11:12.123456789Z');
      assert.equal(state.get('s3/my-bucket/other/last_modified_cursor'), '2024-04-30T00:00:00Z');
      state.set(key, '2024-05-02T00:00:00Z');
      await state.flush();
    });
    const rows = await backend.rows(table);
    assert.deepEqual(
      rows.find((row) => row.key === key),
      { key, value: '2024-05-02T00:00:00Z', version: 2n },
      "the Go client's version 1 is followed by 2",
    );
    assert.equal(rows.length, 2);
  });

  it('reads a table written before the Go SDK added the version column', async () => {
    const table = newTable();
    await backend.put(table, 's3/b/t/last_modified_cursor', '2023-01-02T03:04:05Z', { version: null });
    await withClient(table, async (state) => {
      assert.equal(state.get('s3/b/t/last_modified_cursor'), '2023-01-02T03:04:05Z');
      state.set('s3/b/t/last_modified_cursor', '2023-02-01T00:00:00Z');
      await state.flush();
    });
    await withClient(table, async (state) => assert.equal(state.get('s3/b/t/last_modified_cursor'), '2023-02-01T00:00:00Z'));
  });

  it('resolves duplicate rows by the highest version (append-only destinations)', async () => {
    const table = newTable();
    // Without a primary key memdb appends, as an append-mode destination would: the highest version must
    // win whatever the order of the rows, and a later row of the same version wins the tie.
    for (const [value, version] of [
      ['v2', 2n],
      ['v5', 5n],
      ['v3', 3n],
      ['v5 again', 5n],
      ['v1', 1n],
    ] as const) {
      await backend.put(table, 'dup', value, { version, primaryKey: false });
    }
    assert.equal((await backend.rows(table)).length, 5);
    await withClient(table, async (state) => {
      assert.equal(state.get('dup'), 'v5 again');
      state.set('dup', 'v6');
      await state.flush();
    });
    await withClient(table, async (state) => assert.equal(state.get('dup'), 'v6'));
  });

  it('keeps the last value when flushes overlap', async () => {
    const table = newTable();
    await withClient(table, async (state) => {
      state.set('race', 'first');
      const a = state.flush();
      state.set('race', 'second');
      const b = state.flush();
      state.set('other', 'x');
      const c = state.flush();
      await Promise.all([a, b, c]);
    });
    await withClient(table, async (state) => {
      assert.equal(state.get('race'), 'second');
      assert.equal(state.get('other'), 'x');
    });
  });

  it('keeps state tables apart', async () => {
    const [one, two] = [newTable(), newTable()];
    await withClient(one, async (state) => {
      state.set('shared', 'from one');
      await state.flush();
    });
    await withClient(two, async (state) => assert.equal(state.get('shared'), undefined));
  });

  it('connects over a unix socket given as unix:///path, as the CLI passes a local backend', async () => {
    const local = await startStateBackend({ network: 'unix' });
    try {
      assert.match(local.connection, /^unix:\/\/\//);
      const state = await openStateBackend({ connection: local.connection, tableName: 'cq_state' });
      state.set('s3/b/t/last_modified_cursor', '2024-05-01T10:11:12Z');
      await state.flush();
      await state.close();
      assert.deepEqual(await local.entries('cq_state'), new Map([['s3/b/t/last_modified_cursor', '2024-05-01T10:11:12Z']]));
    } finally {
      await local.stop();
    }
  });

  it('reports a failed flush and keeps the keys for another try', async () => {
    const doomed = await startStateBackend();
    const state = await openStateBackend({ connection: doomed.connection, tableName: 'cq_state' });
    try {
      state.set('k', 'v');
      await doomed.stop();
      const started = Date.now();
      await assert.rejects(state.flush(), (error: Error) => {
        assert.ok(
          error.message.startsWith(`state backend at ${doomed.connection} (table cq_state): writing 1 state entries failed: UNAVAILABLE`),
          error.message,
        );
        return true;
      });
      assert.ok(Date.now() - started < 5_000);
      assert.equal(state.get('k'), 'v');
      await assert.rejects(state.flush(), /writing 1 state entries failed/, 'still dirty, so tried again');
    } finally {
      await state.close();
    }
  });

  it('fails fast on a refused connection, naming the address and the table', async () => {
    const connection = `127.0.0.1:${await freePort()}`;
    const started = Date.now();
    await assert.rejects(openStateBackend({ connection, tableName: 'cq_state' }), (error: Error) => {
      assert.match(error.message, new RegExp(`^state backend at ${connection.replace(/\./g, '\\.')} \\(table cq_state\\): `));
      assert.match(error.message, /UNAVAILABLE/);
      return true;
    });
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  });

  it('gives up after the connect timeout on a peer that accepts but never speaks gRPC', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket)); // holds every connection, says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const connection = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    try {
      const started = Date.now();
      await assert.rejects(openStateBackend({ connection, tableName: 'cq_state', connectTimeoutMs: 1_500 }), (error: Error) => {
        assert.ok(
          error.message.startsWith(`state backend at ${connection} (table cq_state): cannot reach the backend plugin: DEADLINE_EXCEEDED`),
          error.message,
        );
        return true;
      });
      const took = Date.now() - started;
      assert.ok(took >= 1_400 && took < 5_000, `took ${took} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('rejects a malformed address and missing options with a clear message', async () => {
    await assert.rejects(
      openStateBackend({ connection: 'dns://[bad', tableName: 'cq_state' }),
      /^Error: state backend at dns:\/\/\[bad \(table cq_state\): /,
    );
    await assert.rejects(openStateBackend({ connection: '', tableName: 'cq_state' }), /needs both connection and table_name/);
  });

  it('reports a backend the CLI has not initialized', async () => {
    const uninitialized = await startStateBackend({ skipInit: true });
    try {
      await assert.rejects(
        openStateBackend({ connection: uninitialized.connection, tableName: 'cq_state' }),
        new RegExp(
          `^Error: state backend at ${uninitialized.connection.replace(/\./g, '\\.')} \\(table cq_state\\): migrating the state table failed: `,
        ),
      );
    } finally {
      await uninitialized.stop();
    }
  });
});

describe('state table wire format', () => {
  it("is the Go SDK's state.Table(name).ToArrowSchema()", () => {
    const schema = tableFromIPC(schemaOnlyIpc(stateTableSchema('cq_state_s3'))).schema;
    assert.deepEqual(
      schema.fields.map((f) => [f.name, String(f.type), f.nullable, f.metadata.get('cq:extension:primary_key')]),
      [
        ['key', 'Utf8', true, 'true'],
        ['value', 'Utf8', true, 'false'],
        ['version', 'Uint64', true, 'false'],
      ],
    );
    assert.equal(schema.metadata.get('cq:table_name'), 'cq_state_s3');
    assert.equal(schema.metadata.get('cq:table_permissions_needed'), 'null');
  });
});

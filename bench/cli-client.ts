// The bench's side of a gRPC sync, standing in for the CloudQuery CLI: its channel options, and a Sync
// consumer that decodes every record as the CLI would and keeps nothing.
import * as grpc from '@grpc/grpc-js';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import { tableFromIPC } from 'apache-arrow';
import { MAX_MESSAGE_BYTES } from '../test/support/plugin-client.js';
import { readFields } from './plugin.js';

const v3 = pluginV3.cloudquery.plugin.v3;

export type RawPluginClient = InstanceType<typeof v3.PluginClient>;

/** A client receive window of 0: grpc-js's own fixed 64 KiB. */
export const GRPC_JS_DEFAULT_WINDOW = 0;

/** A state backend for an incremental sync: the table its state goes to, and the destination's address. */
export interface BackendOptions {
  tableName: string;
  connection: string;
}

export interface CountedSync {
  rows: number;
  records: number;
  recordBytes: number;
  migrations: number;
  errors: string[];
}

/** A client channel as the CLI opens one: the CLI's 200 MiB message limit, and a receive window (see Options.clientWindow). */
export function cliChannel(address: string, window: number): RawPluginClient {
  const options: grpc.ChannelOptions = {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  };
  if (window > 0) options['grpc-node.flow_control_window'] = window;
  return new v3.PluginClient(address, grpc.credentials.createInsecure(), options);
}

const SYNC_METHOD = '/cloudquery.plugin.v3.Plugin/Sync';

/**
 * Sync as the CLI consumes it: every insert's Arrow IPC stream decoded (apache-arrow) and its rows counted;
 * nothing kept. The Sync.Response envelope is read by hand, without copying the record out of it (the
 * CLI is a Go program whose protobuf decoding costs little; google-protobuf in JS would double the client's
 * CPU, and on a 2-core machine the client shares the cores with the plugin).
 */
export function countingSync(raw: RawPluginClient, backend?: BackendOptions): Promise<CountedSync> {
  const request = new v3.Sync.Request({
    tables: ['*'],
    skip_tables: [],
    skip_dependent_tables: false,
    deterministic_cq_id: false,
    withErrorMessages: true,
  });
  if (backend) request.backend = new v3.Sync.BackendOptions({ table_name: backend.tableName, connection: backend.connection });
  const result: CountedSync = { rows: 0, records: 0, recordBytes: 0, migrations: 0, errors: [] };
  return new Promise((resolve, reject) => {
    const call = raw.makeServerStreamRequest<InstanceType<typeof v3.Sync.Request>, Buffer>(
      SYNC_METHOD,
      (req) => Buffer.from(req.serializeBinary()),
      (bytes) => bytes,
      request,
    );
    let ended = false;
    let status: grpc.StatusObject | undefined;
    const maybeDone = () => {
      if (ended && status?.code === grpc.status.OK) resolve(result);
    };
    call.on('data', (bytes: Buffer) => {
      try {
        count(bytes, result);
      } catch (err) {
        call.cancel();
        reject(err);
      }
    });
    call.on('error', reject);
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      maybeDone();
    });
    call.on('end', () => {
      ended = true;
      maybeDone();
    });
  });
}

/** Adds one Sync.Response to the counts. */
function count(bytes: Buffer, result: CountedSync): void {
  const { field, body } = oneField(bytes, 0, bytes.length);
  switch (field) {
    case 1: // migrate_table { table = 1 }
      tableFromIPC(oneField(body, 0, body.length).body);
      result.migrations++;
      break;
    case 2: {
      // insert { record = 1 }
      const record = oneField(body, 0, body.length).body;
      result.rows += tableFromIPC(record).numRows;
      result.records++;
      result.recordBytes += record.byteLength;
      break;
    }
    case 4: {
      const error = v3.Sync.MessageError.deserializeBinary(body);
      result.errors.push(`${error.table_name}: ${error.error}`);
      break;
    }
    default:
      break;
  }
}

/** The first field of a protobuf message, which must be length-delimited: its number and a view of its bytes. */
function oneField(bytes: Uint8Array, start: number, end: number): { field: number; body: Uint8Array } {
  const first = readFields(bytes.subarray(start, end)).next();
  if (first.done || !first.value.bytes) throw new Error('unexpected protobuf message: no length-delimited first field');
  return { field: first.value.field, body: first.value.bytes };
}

// The three calls the state client makes to the backend plugin: discovery GetVersions, Write (client
// streaming) and Read (server streaming).
import type * as grpc from '@grpc/grpc-js';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import { readRepeatedInt32 } from '../util/protobuf-wire.js';

const v3 = pluginV3.cloudquery.plugin.v3;
const GET_VERSIONS_METHOD = '/cloudquery.discovery.v1.Discovery/GetVersions';

export type PluginClient = InstanceType<typeof v3.PluginClient>;

const deadline = (ms: number): grpc.CallOptions => ({ deadline: Date.now() + ms });

/** discovery.v1 GetVersions, decoded by hand: the generated 0.0.39 decoder fails on google-protobuf 4. */
export function readVersions(client: PluginClient, timeoutMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<Uint8Array, Buffer>(
      GET_VERSIONS_METHOD,
      () => Buffer.alloc(0), // GetVersions.Request has no fields
      (bytes) => bytes,
      new Uint8Array(0),
      deadline(timeoutMs),
      (error, reply) => {
        if (error) return reject(error);
        try {
          // GetVersions.Response: `repeated int32 versions = 1`.
          resolve(readRepeatedInt32(reply ?? Buffer.alloc(0), 1));
        } catch (decodeError) {
          reject(decodeError instanceof Error ? new Error(`malformed GetVersions reply: ${decodeError.message}`) : decodeError);
        }
      },
    );
  });
}

/** One client-streaming Write call: send `requests`, half-close, wait for the reply. */
export function writeRequests(client: PluginClient, requests: InstanceType<typeof v3.Write.Request>[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = client.Write(deadline(timeoutMs), (error) => (error ? reject(error) : resolve()));
    for (const request of requests) call.write(request);
    call.end();
  });
}

/** One server-streaming Read call; the `record` of every response. */
export async function readTable(client: PluginClient, schemaBytes: Uint8Array, timeoutMs: number): Promise<Uint8Array[]> {
  const call = client.Read(new v3.Read.Request({ table: schemaBytes }), deadline(timeoutMs));
  const records: Uint8Array[] = [];
  for await (const response of call as AsyncIterable<InstanceType<typeof v3.Read.Response>>) records.push(response.record);
  return records;
}

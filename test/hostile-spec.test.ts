// Hostile Init, GetTables and TestConnection requests: every one is answered with an error status
// (never a crash), and the server keeps serving. Text the plugin echoes back (field names, paths)
// arrives as valid UTF-8, bounded in length.
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import { startPlugin, type PluginProcess } from './support/plugin-client.js';

const pb = pluginV3.cloudquery.plugin.v3;
let plugin: PluginProcess;

before(async () => {
  plugin = await startPlugin();
});
after(async () => {
  await plugin?.stop();
});

/** Deep JSON as text: JSON.stringify itself would overflow the stack on it. */
const utf8 = (text: string) => new Uint8Array(Buffer.from(text));

const LONE_HIGH = '\ud800';
const LONE_LOW = '\udc00';

const hostileSpecs: [string, unknown][] = [
  ['a key that is a lone high surrogate', { [LONE_HIGH]: 1 }],
  ['a key that is a lone low surrogate', { [`bucket${LONE_LOW}`]: 'b', region: 'us-east-1' }],
  ['a 100,000-character key', { ['k'.repeat(100_000)]: 1 }],
  ['a value nested 100,000 levels deep', utf8(`{"bucket":${'['.repeat(100_000)}"x"${']'.repeat(100_000)},"region":"us-east-1"}`)],
  ['a key nested 100,000 objects deep', utf8(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`)],
  ['bytes that are not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
  ['a JSON array', [1, 2, 3]],
  ['a number', 42],
];

/** The status message is what grpc-js could send: valid UTF-8 (no U+FFFD from a lone surrogate). */
function assertSafeDetails(err: grpc.ServiceError): void {
  assert.ok(!/[\ud800-\udfff]/.test(err.details.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')), 'no lone surrogate in the status');
  assert.ok(err.details.length <= 10_000, `status message of ${err.details.length} characters`);
}

describe('hostile specs', () => {
  for (const [what, spec] of hostileSpecs) {
    it(`Init with ${what} answers INVALID_ARGUMENT and the server stays up`, async () => {
      await assert.rejects(plugin.client.init(spec), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.details);
        assertSafeDetails(err);
        return true;
      });
      assert.equal(await plugin.client.getName(), 'cq-source-s3');
    });
  }

  it('names a lone-surrogate key escaped, so the user can find it', async () => {
    await assert.rejects(plugin.client.init({ [LONE_HIGH]: 1, local_path: '.' }), (err: grpc.ServiceError) => {
      assert.match(err.details, /unknown field "\\ud800"/);
      return true;
    });
  });

  it('GetTables on a path with a lone surrogate fails with a status, and the server stays up', async () => {
    await plugin.client.init({ local_path: `/nonexistent/${LONE_HIGH}/data` });
    await assert.rejects(plugin.client.getTables(), (err: grpc.ServiceError) => {
      assert.notEqual(err.code, grpc.status.OK);
      assertSafeDetails(err);
      return true;
    });
    assert.equal(await plugin.client.getName(), 'cq-source-s3');
  });

  it('TestConnection with hostile specs answers a failure, and the server stays up', async () => {
    const test = promisify(plugin.client.raw.TestConnection.bind(plugin.client.raw)) as (
      req: InstanceType<typeof pb.TestConnection.Request>,
    ) => Promise<InstanceType<typeof pb.TestConnection.Response>>;
    for (const [what, spec] of hostileSpecs) {
      const bytes = spec instanceof Uint8Array ? spec : Buffer.from(JSON.stringify(spec));
      const res = await test(new pb.TestConnection.Request({ spec: bytes }));
      assert.equal(res.success, false, what);
      assert.equal(res.failure_code, 'INVALID_SPEC', what);
      assert.ok(!/[\ud800-\udfff]/.test(res.failure_description.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')), what);
    }
    assert.equal(await plugin.client.getName(), 'cq-source-s3');
  });

  it('survives them all without a restart', async () => {
    assert.equal(plugin.client && (await plugin.client.getVersion()).length > 0, true);
    const exit = await Promise.race([plugin.exitCode.then(() => 'exited'), new Promise((r) => setTimeout(() => r('running'), 100))]);
    assert.equal(exit, 'running');
  });
});

// The bundle validates specs with ajv's standalone code generated at build time (scripts/spec-validator.mjs),
// the sources with a validator compiled at run time: both must accept and reject exactly the same specs, with
// the same messages.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import * as fromSources from '../../src/spec.js';
import { specValidatorPlugin } from '../../scripts/spec-validator.mjs';

const specs: unknown[] = [
  null,
  { bucket: 'b' },
  { local_path: '/data', filetype: 'auto', csv: { delimiter: ';', header: false, null_values: ['', 'NA'] } },
  { buckets: 'b', rows_per_record: -5, concurrency: 'many', filetype: 'xml', path_style: 'yes' },
  { bucket: 'b', region: 'r', local_path: '.' },
  { bucket: 'b', region: 'r', access_key_id: 'AK' },
  { bucket: 'b', region: 'r', endpoint: 'not a url' },
  { bucket: '', csv: { delimiter: 'too long', bogus: 1 }, schema_sample_rows: 1.5 },
  { bucket: 'b', glob_tables: [{ name: '2024-logs', glob: 'b/[x' }, { glob: 3 }] },
  { bucket: 'b', schema: { t: [{ name: 'a', type: 'decimal(40,2)' }, { type: 'int64' }] } },
  { bucket: 'b', secret_access_key: 'TOPSECRETVALUE', max_retries: 'x', tables: 'not-a-list' },
  [1, 2, 3],
  42,
];

type Outcome = { resolved: unknown } | { problems: string[] };

function outcome(spec: typeof fromSources, input: unknown): Outcome {
  try {
    return { resolved: spec.parseSpec(input) };
  } catch (err) {
    assert.ok(err instanceof Error && 'problems' in err, String(err));
    return { problems: (err as fromSources.SpecError).problems };
  }
}

describe('the bundled spec validator', () => {
  let dir: string;
  let fromBundle: typeof fromSources;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cq-spec-bundle-'));
    const plugin = await specValidatorPlugin('src');
    assert.ok(plugin, 'src/spec-validator.ts is replaced in the bundle');
    const result = await build({
      entryPoints: ['src/spec.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      plugins: [plugin],
    });
    const text = result.outputFiles[0]!.text;
    assert.ok(!text.includes('new Ajv('), 'no validator is compiled at run time');
    writeFileSync(join(dir, 'spec.mjs'), text);
    fromBundle = (await import(pathToFileURL(join(dir, 'spec.mjs')).href)) as typeof fromSources;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts and rejects what the compiled validator does, with the same messages', () => {
    for (const spec of specs) assert.deepEqual(outcome(fromBundle, spec), outcome(fromSources, spec), JSON.stringify(spec));
    assert.ok(specs.some((s) => 'problems' in outcome(fromSources, s)) && specs.some((s) => 'resolved' in outcome(fromSources, s)));
  });
});

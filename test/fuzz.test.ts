// No input can take the server down: seeded, deterministic fuzzing of everything an object can hold.
// Real writers' Parquet, CSV, JSON Lines and Avro files, each damaged in one way (bytes of a data,
// dictionary or page header flipped or overwritten, a footer or page header field re-encoded with a
// lying value, the file cut short, a gzip or zstd body damaged), sit beside good files in one bucket
// on a real S3 server (Swift s3api) and are synced by the bundled plugin over gRPC, a batch per sync.
// After every sync the process answers; every damaged object is either delivered whole (as many rows
// as it declares) or reported by key; the good files arrive exactly. Then junk Init specs, each
// answered INVALID_ARGUMENT. `npm run fuzz` runs the same generators for longer with any seed.
// Run `npm run build` first.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeBases, makeCases, type Bases } from './support/fuzz-cases.js';
import { batchSeed, Rng } from './support/fuzz-mutate.js';
import { answers, initJunk, junkSpec, runBatch, specTypes, type FuzzTarget } from './support/fuzz-run.js';
import { tableFromArrays } from 'apache-arrow';
import { checkSync, type CaseOutcome } from './support/fuzz-check.js';
import { closeFixtures } from './support/fixtures.js';
import { startPlugin, type SyncResult } from './support/plugin-client.js';
import { startS3Server } from './support/s3-server.js';

const BUCKET = 'cq-fuzz-test';
const SEED = 20261202;
const BATCHES = 3;
const CASES_PER_BATCH = 40;
const JUNK_SPECS = 40;

let target: FuzzTarget;
let bases: Bases;
const outcomes: CaseOutcome[] = [];

before(async () => {
  const s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  bases = await makeBases();
  target = { s3, plugin: await startPlugin({ extraArgs: ['--log-level', 'warn'] }), bucket: BUCKET };
});

after(async () => {
  await target?.plugin.stop();
  await target?.s3.stop();
  await closeFixtures();
});

describe(`damaged objects (seed ${SEED})`, () => {
  for (let batch = 0; batch < BATCHES; batch++) {
    it(`batch ${batch}: ${CASES_PER_BATCH} damaged objects each delivered whole or reported by key, the good files exact, the process alive`, async () => {
      const cases = await makeCases(bases, new Rng(batchSeed(SEED, batch)), CASES_PER_BATCH);
      const out = await runBatch(target, `b${batch}/`, cases, bases.good);
      outcomes.push(...out.outcomes);
      assert.ok(out.alive, 'the plugin answers after the sync');
      assert.deepEqual(out.problems, [], `replay: npm run fuzz -- --seed ${SEED} --batch ${batch} --cases ${CASES_PER_BATCH}`);
    });
  }

  it('exercised both outcomes in every format: some damaged objects delivered whole, some reported', () => {
    const kinds = new Set(outcomes.map((o) => o.c.kind));
    assert.deepEqual([...kinds].sort(), ['avro', 'csv', 'jsonl', 'parquet']);
    for (const kind of kinds) {
      const mine = outcomes.filter((o) => o.c.kind === kind);
      assert.ok(
        mine.some((o) => o.reported),
        `${kind}: none reported`,
      );
      assert.ok(
        mine.some((o) => !o.reported),
        `${kind}: none delivered whole`,
      );
    }
  });
});

describe(`junk Init specs (seed ${SEED})`, () => {
  it(`${JUNK_SPECS} random shapes, lone surrogates, huge strings and bad bytes: each INVALID_ARGUMENT, the server alive`, async () => {
    const { plugin } = target;
    const types = specTypes(await plugin.client.getSpecSchema());
    const rng = new Rng(batchSeed(SEED, -1));
    const problems: string[] = [];
    for (let n = 0; n < JUNK_SPECS; n++) {
      const problem = await initJunk(plugin, junkSpec(rng.fork(n), types));
      if (problem) problems.push(`spec ${n}: ${problem}`);
    }
    assert.deepEqual(problems, []);
    assert.ok(await answers(plugin));
  });
});

describe('the fuzz checks themselves', () => {
  /** A sync result in which `key` delivered rows at `positions`, with `errors`. */
  const resultOf = (key: string, positions: number[], errors: string[]) =>
    ({
      batches: [
        {
          table: 't',
          batch: tableFromArrays({ _source_key: positions.map(() => key), _source_row: BigInt64Array.from(positions.map(BigInt)) })
            .batches[0]!,
        },
      ],
      errors: errors.map((error) => ({ table: 't', error })),
    }) as unknown as SyncResult;
  const problemsOf = (positions: number[], errors: string[] = []) => {
    const c = {
      table: 'parquet',
      name: 'm-0.parquet',
      kind: 'parquet' as const,
      body: bases.parquet[0]!.file,
      how: 'unchanged',
      damage: 'none',
    };
    return checkSync(resultOf('p/parquet/m-0.parquet', positions, errors), 'bkt', 'p/', [c], []).problems;
  };
  const all = Array.from({ length: 3000 }, (_, i) => i);
  const uri = 's3://bkt/p/parquet/m-0.parquet';

  it('pass an object delivered whole, or reported with no row out', () => {
    assert.deepEqual(problemsOf(all), []);
    assert.deepEqual(problemsOf([], [`${uri}: bad page`]), []);
    assert.deepEqual(problemsOf([0, 1], [`${uri}: bad page (2 rows of it were delivered before the failure)`]), []);
  });

  it('catch rows lost or doubled without an error, rows out that the error does not own up to, and errors naming nothing', () => {
    assert.match(problemsOf(all.slice(1)).join(), /no error, but 2999 rows delivered of 3000 declared/);
    assert.match(problemsOf([...all.slice(1), 0, 0]).join(), /row positions are not 0\.\.3000 once each/);
    assert.match(problemsOf([0, 1, 2], [`${uri}: bad (2 rows of it were delivered before the failure)`]).join(), /says 2 rows .* 3 were/);
    assert.match(problemsOf([0], [`${uri}: bad page`]).join(), /reported, yet 1 rows delivered/);
    assert.match(problemsOf(all, ['s3://bkt/elsewhere: gone']).join(), /an error that names no damaged object/);
  });
});

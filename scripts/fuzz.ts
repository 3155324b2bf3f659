/**
 * npm run fuzz -- [--seconds 600] [--seed 123] [--cases 40] [--batch N]
 *
 * The generators of test/fuzz.test.ts, run for as long as asked: batch after batch of damaged
 * Parquet, CSV, JSON Lines and Avro objects beside good files on a real S3 server (Swift s3api),
 * each batch synced by the bundled plugin over gRPC and checked object by object, then junk Init
 * specs. Prints the seed first; every failing object is printed with its key, what was done to it
 * and the command that replays its batch (`--seed S --batch N`). A plugin that stops answering is
 * reported, its log tail printed, and started again. Exits 1 when anything failed.
 */
import { parseArgs } from 'node:util';
import { makeBases, makeCases } from '../test/support/fuzz-cases.js';
import { batchSeed, Rng } from '../test/support/fuzz-mutate.js';
import { initJunk, junkSpec, runBatch, specTypes, type FuzzTarget } from '../test/support/fuzz-run.js';
import { closeFixtures } from '../test/support/fixtures.js';
import { startPlugin } from '../test/support/plugin-client.js';
import { startS3Server } from '../test/support/s3-server.js';

const BUCKET = 'cq-fuzz';
const JUNK_PER_BATCH = 20;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    cases: { type: 'string', default: '40' },
    batch: { type: 'string' },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : Math.floor(Math.random() * 2 ** 32);
const seconds = Number(values.seconds);
const perBatch = Number(values.cases);
const only = values.batch !== undefined ? Number(values.batch) : undefined;
if (![seconds, perBatch].every((n) => Number.isFinite(n) && n > 0)) throw new Error('--seconds and --cases take positive numbers');

console.log(`fuzz: seed ${seed}, ${only !== undefined ? `batch ${only} only` : `${seconds} s`}, ${perBatch} objects a batch`);
const replay = (batch: number) => `npm run fuzz -- --seed ${seed} --batch ${batch} --cases ${perBatch}`;

const s3 = await startS3Server();
await s3.createBucket(BUCKET);
const bases = await makeBases();
const target: FuzzTarget = { s3, plugin: await startPlugin({ extraArgs: ['--log-level', 'warn'] }), bucket: BUCKET };
const types = specTypes(await target.plugin.client.getSpecSchema());
const totals = { batches: 0, objects: 0, reported: 0, whole: 0, specs: 0, failures: 0 };
/** Damage kind -> [reported by key, delivered whole]. */
const byDamage = new Map<string, [number, number]>();
const deadline = Date.now() + seconds * 1000;

try {
  for (let batch = only ?? 0; only !== undefined ? batch === only : Date.now() < deadline; batch++) {
    const rng = new Rng(batchSeed(seed, batch));
    const cases = await makeCases(bases, rng, perBatch);
    const out = await runBatch(target, `b${batch}/`, cases, bases.good);
    totals.batches++;
    totals.objects += cases.length;
    totals.reported += out.outcomes.filter((o) => o.reported).length;
    totals.whole += out.outcomes.filter((o) => !o.reported).length;
    for (const { c, reported } of out.outcomes) {
      const counts = byDamage.get(c.damage) ?? [0, 0];
      counts[reported ? 0 : 1]++;
      byDamage.set(c.damage, counts);
    }
    for (const problem of out.problems) console.log(`FAIL batch ${batch}: ${problem}\n  replay: ${replay(batch)}`);
    totals.failures += out.problems.length;
    for (let n = 0; n < JUNK_PER_BATCH && out.alive; n++) {
      const problem = await initJunk(target.plugin, junkSpec(rng.fork(1_000_000 + n), types));
      totals.specs++;
      if (problem) console.log(`FAIL batch ${batch}, junk spec ${n}: ${problem}\n  replay: ${replay(batch)}`);
      if (problem) totals.failures++;
    }
    if (!out.alive) {
      console.log(`the plugin stopped answering in batch ${batch}; its last log lines:\n${target.plugin.logs.slice(-20).join('\n')}`);
      await target.plugin.stop('SIGKILL');
      target.plugin = await startPlugin({ extraArgs: ['--log-level', 'warn'] });
    }
    await s3.emptyBucket(BUCKET);
    if (totals.batches % 10 === 0) console.log(`  ${totals.batches} batches, ${totals.objects} objects, ${totals.failures} failures`);
  }
} finally {
  await target.plugin.stop();
  await s3.stop();
  await closeFixtures();
}

for (const [damage, [reported, whole]] of [...byDamage].sort())
  console.log(`  ${damage.padEnd(28)} ${String(reported).padStart(5)} reported by key ${String(whole).padStart(5)} delivered whole`);
console.log(
  `fuzz: seed ${seed}: ${totals.batches} batches, ${totals.objects} damaged objects (${totals.reported} reported by key, ` +
    `${totals.whole} delivered whole), ${totals.specs} junk specs; ${totals.failures} failures`,
);
process.exitCode = totals.failures > 0 ? 1 : 0;

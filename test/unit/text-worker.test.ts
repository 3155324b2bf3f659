// Text files parsed in a worker thread: the main thread's side of it (stored chunks handed over when
// asked for, the read budget, problems in file order with the batches).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatsFor } from '../../src/formats/index.js';
import { CHUNK_BYTES } from '../../src/formats/text/byte-stream.js';
import { parseSpec } from '../../src/spec.js';
import { ByteBudget } from '../../src/util/byte-budget.js';
import { memorySource } from '../support/text-fixtures.js';

const spec = parseSpec({ local_path: '/nonexistent', filetype: 'auto', schema_sample_rows: 10 });

/** `rows` JSON Lines rows of about 100 bytes; the row numbered `odd` has a text id. */
function jsonLines(rows: number, odd = -1): string {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) lines.push(JSON.stringify({ id: i === odd ? 'x' : i, pad: 'p'.repeat(80) }));
  return `${lines.join('\n')}\n`;
}

describe('text files parsed in a worker', () => {
  it('a file of several stored chunks, abandoned after its first batch: the budget is given back whole, the next file reads', async () => {
    const budget = new ByteBudget(64 << 20);
    const text = jsonLines(150_000);
    assert.ok(text.length > 3 * CHUNK_BYTES);
    const source = memorySource('big.jsonl', text);
    const file = await formatsFor(spec).open(source, { budget });
    const readAtOpen = source.bytesRead;
    for await (const batch of file.batches({ maxRows: 1000, rowMultiple: 1000 })) {
      assert.equal(batch.numRows, 1000);
      break;
    }
    assert.ok(source.bytesRead - readAtOpen < text.length, 'reading stopped before the end of the file');
    // Resolves only once nothing at all is held against the budget.
    (await budget.acquire(budget.capacity))();
    const next = await formatsFor(spec).open(memorySource('next.jsonl', jsonLines(5000)), { budget });
    let rows = 0;
    for await (const batch of next.batches({ maxRows: 1000, rowMultiple: 1 })) rows += batch.numRows;
    assert.equal(rows, 5000);
    assert.equal(budget.inUse, 0);
  });

  it('a problem arrives before the batch holding its row, every row delivered', async () => {
    const budget = new ByteBudget(64 << 20);
    const file = await formatsFor(spec).open(memorySource('t.jsonl', jsonLines(100_000, 45_678)), { budget });
    const events: string[] = [];
    let rows = 0;
    const report = (message: string) => events.push(`problem: ${message.slice(0, 24)}`);
    for await (const batch of file.batches({ maxRows: 10_000, rowMultiple: 10_000, report })) {
      rows += batch.numRows;
      events.push(`batch to ${rows}`);
    }
    assert.equal(rows, 100_000);
    const problems = events.filter((e) => e.startsWith('problem'));
    assert.deepEqual(problems, ['problem: line 45679: column "id":']);
    assert.ok(events.indexOf(problems[0]!) < events.indexOf('batch to 50000'), events.join(', '));
    assert.equal(events.at(-1), 'batch to 100000');
  });
});

// The Parquet footer and page checks on files made by real writers, good and made hostile (see
// test/support/hostile-parquet.ts), called directly: no server, no decoder.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { FormatError } from '../../src/errors.js';
import { MAX_FOOTER_BYTES, readFooter, rowGroupRanges, type RowGroupRange } from '../../src/formats/parquet/footer.js';
import { checkRowGroupPages, tableCrc32 } from '../../src/formats/parquet/page-headers.js';
import { MAX_SCHEMA_DEPTH, MAX_SCHEMA_ELEMENTS } from '../../src/formats/parquet/validate.js';
import { closeFixtures, parquetFromSql } from '../support/fixtures.js';
import {
  deepSchemaFile,
  footerLies,
  goodFiles,
  legacyLayouts,
  pageLies,
  simpleSql,
  type GoodFile,
  type HostileFile,
} from '../support/hostile-parquet.js';
import { rewritePages } from '../support/parquet-pages.js';
import { T, concat, i32, list, structField, type Struct } from '../support/thrift-footer.js';

const LIMITS = { maxPageBytes: 256 * 1024 * 1024 };

function footerOf(file: Uint8Array): RowGroupRange[] {
  return rowGroupRanges({ start: 0, bytes: file }, file.length);
}

/** Every check the reader makes, footer then each row group's fetched bytes. */
function checkFile(file: Uint8Array, limits = LIMITS): RowGroupRange[] {
  const groups = footerOf(file);
  for (const g of groups) checkRowGroupPages(file.slice(g.start, g.end), g.start, g, limits);
  return groups;
}

function assertFormatError(run: () => unknown, message: RegExp): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof FormatError, `a FormatError, not ${String(err)}`);
    assert.match(err.message, /^not a readable Parquet file: /);
    assert.match(err.message, message);
    return true;
  });
}

/** Runs `check` and lets only a FormatError through: anything else is a bug. */
function onlyFormatErrors(check: () => unknown, label: string): void {
  try {
    check();
  } catch (err) {
    if (!(err instanceof FormatError)) assert.fail(`${label}: ${err instanceof Error ? err.stack : String(err)}`);
  }
}

/** A small deterministic PRNG (mulberry32), so fuzz failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let good: GoodFile[];
let snappy: Uint8Array;
let uncompressed: Uint8Array;
let footerCases: HostileFile[];
let pageCases: HostileFile[];

before(async () => {
  good = await goodFiles();
  snappy = await parquetFromSql(simpleSql(0, 3000), { rowGroupSize: 2048 });
  uncompressed = await parquetFromSql(simpleSql(0, 3000), { rowGroupSize: 2048, codec: 'uncompressed' });
  footerCases = footerLies(snappy);
  pageCases = pageLies(snappy, uncompressed);
});

after(() => closeFixtures());

describe('good files', () => {
  it('pass every check, with their row counts and every chunk inside its row group', () => {
    for (const { name, file, rows } of [...good, { name: 'base-snappy', file: snappy, rows: 3000 }]) {
      let groups: RowGroupRange[] = [];
      assert.doesNotThrow(() => (groups = checkFile(file)), name);
      assert.equal(
        groups.reduce((n, g) => n + g.rows, 0),
        rows,
        name,
      );
      for (const g of groups) for (const c of g.chunks) assert.ok(c.start >= g.start && c.end <= g.end, `${name}: chunk ${c.column}`);
    }
  });

  it('include several row groups, several pages a chunk, v2 pages, CRCs and zero-row files', () => {
    const byName = new Map(good.map((g) => [g.name, footerOf(g.file)]));
    assert.ok(byName.get('duckdb-many-row-groups')!.length > 40);
    assert.equal(byName.get('duckdb-zero-rows')!.length, 0);
    assert.equal(
      byName.get('arrow-zero-rows')!.reduce((n, g) => n + g.rows, 0),
      0,
    );
    assert.ok(byName.get('arrow-row-groups')!.length === 5);
  });

  it('pass with the footer layouts older writers produced', () => {
    for (const { name, file } of legacyLayouts(snappy)) {
      assert.notDeepEqual(file, snappy, `${name} changes the footer`);
      assert.doesNotThrow(() => checkFile(file), name);
    }
  });

  it('pass with unknown page header fields, nested and of every type, skipped', () => {
    const extra = rewritePages(snappy, (page) => {
      const inner: Struct = new Map([
        [1, { type: T.TRUE, value: false }],
        [2, { type: T.DOUBLE, value: 1.5 }],
        [3, list(T.TRUE, [1, 2, 1])],
        [4, { type: T.BINARY, value: new Uint8Array(300) }],
        [5, { type: T.I64, value: -(2n ** 62n) }],
        [6, { type: T.BYTE, value: 7 }],
        [7, { type: T.I16, value: -3 }],
        [8, { type: T.SET, value: { elem: T.I32, items: Array.from({ length: 20 }, (_, i) => i) } }],
      ]);
      page.header.set(20, list(T.STRUCT, [inner, inner]));
      page.header.set(21, structField(new Map([[1, structField(inner)]])));
      page.header.set(300, i32(-7));
    });
    assert.doesNotThrow(() => checkFile(extra));
  });
});

describe('footers that lie', () => {
  it('are refused before decoding, each with a message saying what is wrong', () => {
    assert.ok(footerCases.length >= 12);
    for (const c of footerCases) assertFormatError(() => footerOf(c.file), c.message);
  });

  it(`refuse schemas deeper than ${MAX_SCHEMA_DEPTH} levels, walked without recursion`, () => {
    assert.doesNotThrow(() => footerOf(deepSchemaFile(MAX_SCHEMA_DEPTH)));
    assertFormatError(() => footerOf(deepSchemaFile(MAX_SCHEMA_DEPTH + 1)), /nested 101 levels deep; at most 100 levels are read/);
    assertFormatError(() => footerOf(deepSchemaFile(50_000)), /nested 50000 levels deep/);
  });

  it(`refuse schemas of more than ${MAX_SCHEMA_ELEMENTS} elements`, () => {
    // Its root, the groups and the leaf: one element more than the depth.
    assertFormatError(() => footerOf(deepSchemaFile(MAX_SCHEMA_ELEMENTS)), /the schema has 100001 elements, more than the 100000 read/);
  });

  it('refuse a footer longer than the reader holds, before fetching it', async () => {
    const size = MAX_FOOTER_BYTES + 1_000_000;
    const tail = concat([
      new Uint8Array(100),
      new Uint8Array(new Uint32Array([MAX_FOOTER_BYTES + 1]).buffer),
      new TextEncoder().encode('PAR1'),
    ]);
    const reads: [number, number][] = [];
    const source = {
      key: 'k',
      size,
      read: (start: number, end: number) => {
        reads.push([start, end]);
        return Promise.resolve(tail.slice(tail.length - (end - start)));
      },
    };
    await assert.rejects(
      readFooter(source),
      (err: unknown) => err instanceof FormatError && /the footer claims 268435457 bytes/.test(err.message),
    );
    assert.equal(reads.length, 1, 'only the tail was read');
  });
});

describe('pages that lie', () => {
  it('pass the footer checks but are refused once their row group is fetched', () => {
    assert.ok(pageCases.length >= 10);
    for (const c of pageCases) {
      const groups = footerOf(c.file);
      assertFormatError(() => {
        for (const g of groups) checkRowGroupPages(c.file.slice(g.start, g.end), g.start, g, LIMITS);
      }, c.message);
    }
  });

  it('compute CRC-32 without node:zlib (Node before 20.15) as node:zlib does', () => {
    const next = random(3);
    for (const length of [0, 1, 7, 1000, 65_537]) {
      const bytes = Uint8Array.from({ length }, () => Math.floor(next() * 256));
      assert.equal(tableCrc32(bytes), crc32(bytes) >>> 0, `${length} bytes`);
    }
  });

  it('bound the uncompressed size of a page by the limit passed in', () => {
    assertFormatError(() => checkFile(snappy, { maxPageBytes: 1000 }), /claims \d+ uncompressed bytes, more than the 1000 a page may take/);
  });

  it('refuse a page header nested deeper than the reader skips, without recursing', () => {
    // Field 9 a struct holding a struct holding ... 100,000 levels, in front of nothing.
    const header = concat([Uint8Array.of(0x15, 0x00, 0x9c), new Uint8Array(100_000).fill(0x1c)]);
    const chunk = { column: 'x', start: 4, end: 4 + header.length, numValues: 0, codec: 'UNCOMPRESSED' };
    const group = { index: 0, start: 4, end: chunk.end, rows: 0, bytes: 0, chunks: [chunk] };
    assertFormatError(() => checkRowGroupPages(header, 4, group, LIMITS), /nested more than 64 levels deep/);
  });
});

describe('any bytes at all', () => {
  it('give a FormatError or pass: bit flips in footers', () => {
    const next = random(1);
    for (const base of [snappy, good[0]!.file, good.find((g) => g.name === 'arrow-v2-pages-snappy')!.file]) {
      const footerStart = base.length - 8 - new DataView(base.buffer, base.byteOffset).getUint32(base.length - 8, true);
      for (let i = 0; i < 400; i++) {
        const file = base.slice();
        for (let n = 1 + Math.floor(next() * 3); n > 0; n--)
          file[footerStart + Math.floor(next() * (file.length - 8 - footerStart))]! ^= 1 << Math.floor(next() * 8);
        onlyFormatErrors(() => checkFile(file), `footer flip ${i}`);
      }
    }
  });

  it('give a FormatError or pass: bit flips and garbage in row groups', () => {
    const next = random(2);
    const groups = footerOf(snappy);
    for (let i = 0; i < 2000; i++) {
      const g = groups[i % groups.length]!;
      const bytes = snappy.slice(g.start, g.end);
      if (i % 4 === 3) for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(next() * 256);
      else for (let n = 1 + Math.floor(next() * 4); n > 0; n--) bytes[Math.floor(next() * bytes.length)]! ^= 1 << Math.floor(next() * 8);
      onlyFormatErrors(() => checkRowGroupPages(bytes, g.start, g, LIMITS), `row group flip ${i}`);
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupTables, hivePartitions, isDataKey, listPrefixes, ownsKey, tableFilter, tableNameForKey } from '../../src/discover.js';
import { resolveLayout, type TablesSpec } from '../../src/spec-tables.js';

const object = (key: string) => ({ key, size: 1, lastModified: new Date(0), etag: '"e"' });

describe('table names', () => {
  it('follows the Go plugin for every documented example', () => {
    assert.equal(tableNameForKey('datafile_0.parquet'), 'datafile_0');
    assert.equal(tableNameForKey('data/2024/file.parquet'), 'data_2024');
    assert.equal(tableNameForKey('data/2024/01/14/file.parquet'), 'data_2024_01_14');
    assert.equal(tableNameForKey('reports/2024/a.parquet'), 'reports_2024');
    assert.equal(tableNameForKey('a.parquet'), 'a');
  });

  it('normalises other characters, collapses and trims underscores, keeps case', () => {
    assert.equal(tableNameForKey('My-Data/2024.Q1/x.parquet'), 'My_Data_2024_Q1');
    assert.equal(tableNameForKey('__odd__//dir--/x.parquet'), 'odd_dir');
    assert.equal(tableNameForKey('my.file.name.PARQUET'), 'my_file_name');
    assert.equal(tableNameForKey('---.parquet'), '');
  });

  it('keeps only keys of the filetype, case-insensitively', () => {
    assert.ok(isDataKey('a/B.PARQUET', 'parquet'));
    assert.ok(!isDataKey('a/b.csv', 'parquet'));
    assert.ok(!isDataKey('a/parquet', 'parquet'));
    assert.ok(!isDataKey('a/b.parquet.tmp', 'parquet'));
  });

  it('groups files of one directory into one table, sorted', () => {
    const { tables, unnamed } = groupTables(
      ['reports/2024/b.parquet', 'reports/2024/a.parquet', 'x.parquet', 'notes.txt', '--.parquet', 'reports/2024/sub/c.parquet'].map(
        object,
      ),
      'parquet',
    );
    assert.deepEqual(
      tables.map((t) => [t.name, t.objects.map((o) => o.key)]),
      [
        ['reports_2024', ['reports/2024/a.parquet', 'reports/2024/b.parquet']],
        ['reports_2024_sub', ['reports/2024/sub/c.parquet']],
        ['x', ['x.parquet']],
      ],
    );
    assert.deepEqual(unnamed, ['--.parquet']);
  });
});

describe('table selection', () => {
  it('honours tables and skip_tables globs', () => {
    const keep = tableFilter(['data_*', 'a'], ['data_2023*']);
    assert.deepEqual(['a', 'b', 'data_2024', 'data_2023_01'].filter(keep), ['a', 'data_2024']);
    assert.deepEqual(['a', 'b'].filter(tableFilter([], [])), ['a', 'b']);
    assert.deepEqual(['a', 'b'].filter(tableFilter(['*'], ['b'])), ['a']);
  });
});

describe('shards', () => {
  it('split keys disjointly and completely, numbered from 1', () => {
    const keys = Array.from({ length: 300 }, (_, i) => `data/${i}.parquet`);
    const owners = keys.map((k) => [1, 2, 3].filter((num) => ownsKey(k, { num, total: 3 })));
    assert.ok(owners.every((o) => o.length === 1));
    for (const num of [1, 2, 3]) assert.ok(owners.filter((o) => o[0] === num).length > 50);
    assert.ok(keys.every((k) => ownsKey(k, undefined) && ownsKey(k, { num: 1, total: 1 })));
  });
});

describe('table layouts', () => {
  const layout = (spec: TablesSpec) => resolveLayout(spec);
  const keys = [
    'logs/2024/11/25/a.jsonl.gz',
    'logs/2024/11/26/b.jsonl.gz',
    'logs/tmp/c.jsonl.gz',
    'events/year=2024/month=11/part-0.parquet',
    'events/year=2024/month=12/part-0.parquet',
    'other/x.parquet',
    'other/notes.txt',
  ].map(object);

  it('makes one table of every key a glob table matches, and names the rest by directory', () => {
    const { tables } = groupTables(
      keys,
      'parquet',
      layout({ glob_tables: [{ name: 'logs', include: ['logs/**/*.jsonl.gz'], exclude: ['logs/tmp/**'] }] }),
    );
    assert.deepEqual(
      tables.map((t) => [t.name, t.objects.length]),
      [
        ['events_year_2024_month_11', 1],
        ['events_year_2024_month_12', 1],
        ['logs', 2],
        ['other', 1],
      ],
    );
  });

  it('reads only the defined tables with only_defined_tables, listing only their literal prefixes', () => {
    const spec = layout({
      glob_tables: [{ name: 'logs', include: ['logs/2024/**/*.jsonl.gz', 'logs/2023/*.csv'] }],
      only_defined_tables: true,
    });
    assert.deepEqual(
      groupTables(keys, 'parquet', spec).tables.map((t) => t.name),
      ['logs'],
    );
    assert.deepEqual(listPrefixes('', spec), ['logs/2023/', 'logs/2024/']);
    assert.deepEqual(listPrefixes('logs/', spec), ['logs/2023/', 'logs/2024/']);
    assert.deepEqual(listPrefixes('logs/2024/11/', spec), ['logs/2024/11/']);
    assert.deepEqual(listPrefixes('other/', spec), []);
    assert.deepEqual(listPrefixes('p/', layout({ glob_tables: [{ name: 't', include: ['**/*.csv'] }], only_defined_tables: true })), [
      'p/',
    ]);
    assert.deepEqual(listPrefixes('p/', layout({ glob_tables: [{ name: 't', include: ['a/*.csv'] }] })), ['p/']);
  });

  it('rejects a key that two glob tables match, naming both and the key', () => {
    const spec = layout({
      glob_tables: [
        { name: 'a', include: ['logs/**'] },
        { name: 'b', include: ['**/*.gz'] },
      ],
    });
    assert.throws(
      () => groupTables(keys, 'parquet', spec),
      /"logs\/2024\/11\/25\/a\.jsonl\.gz" matches two glob_tables entries, "a" and "b"/,
    );
  });

  it('applies include and exclude before naming by directory', () => {
    const spec = layout({ include: ['events/**', 'other/**'], exclude: ['**/month=12/**'] });
    assert.deepEqual(
      groupTables(keys, 'parquet', spec).tables.map((t) => t.name),
      ['events_year_2024_month_11', 'other'],
    );
  });

  it('leaves Hive partition segments out of table names and reads their values', () => {
    assert.deepEqual(
      groupTables(keys, 'parquet', layout({ hive_partitioning: true })).tables.map((t) => [t.name, t.objects.length]),
      [
        ['events', 2],
        ['other', 1],
      ],
    );
    assert.deepEqual(hivePartitions('events/year=2024/month=11/part-0.parquet'), [
      ['year', '2024'],
      ['month', '11'],
    ]);
    assert.deepEqual(hivePartitions('t/city=S%C3%A3o%20Paulo/day=/x.csv'), [
      ['city', 'São Paulo'],
      ['day', ''],
    ]);
  });
});

// Value parsing and type inference of the text formats: exact integers, floats, dates, timestamps, and
// the widening rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyJsonString, classifyText, widenInferred, type Inferred } from '../../src/formats/text/infer.js';
import { compactJson } from '../../src/formats/text/json-tokens.js';
import { daysFromCivil, floatValue, isFloatText, parseDate, parseInt64, parseTimestamp } from '../../src/formats/text/values.js';

const BOOLEANS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE']);

describe('parseInt64', () => {
  it('reads integers exactly, beyond 2^53 as bigint', () => {
    assert.equal(parseInt64('0'), 0);
    assert.equal(parseInt64('-42'), -42);
    assert.equal(parseInt64('+7'), 7);
    assert.equal(parseInt64('999999999999999'), 999999999999999);
    assert.equal(parseInt64('9007199254740993'), 9007199254740993n);
    assert.equal(parseInt64('-9223372036854775808'), -9223372036854775808n);
    assert.equal(parseInt64('9223372036854775807'), 9223372036854775807n);
  });

  it('refuses what is not an int64: overflow, fractions, leading zeros, blanks, signs alone', () => {
    for (const text of [
      '9223372036854775808',
      '-9223372036854775809',
      '1.0',
      '1e3',
      '007',
      '00',
      ' 1',
      '1 ',
      '',
      '-',
      '+',
      '0x10',
      '1_000',
    ]) {
      assert.equal(parseInt64(text), undefined, text);
    }
  });

  it('reads inside a larger string', () => {
    assert.equal(parseInt64('{"a":12345678901234567890}', 5, 25), undefined);
    assert.equal(parseInt64('{"a":1234567890123456789}', 5, 24), 1234567890123456789n);
  });
});

describe('floats', () => {
  it('accepts decimal, exponent and special forms', () => {
    for (const text of [
      '1.5',
      '-0.25',
      '.5',
      '5.',
      '1e10',
      '1E-7',
      '+3.0e+2',
      '0.0',
      'NaN',
      'nan',
      'Infinity',
      '-inf',
      '12345678901234567890',
    ]) {
      assert.ok(isFloatText(text), text);
    }
    assert.equal(floatValue('-inf'), -Infinity);
    assert.ok(Number.isNaN(floatValue('nan')));
    assert.equal(floatValue('1E-7'), 1e-7);
  });

  it('refuses what is not a number', () => {
    for (const text of ['', '.', 'e5', '1e', '1.2.3', '01.5', '0x1p3', ' 1.5', '1,5', 'infinite', '--1'])
      assert.ok(!isFloatText(text), text);
  });
});

describe('dates and timestamps', () => {
  it('days since the epoch of valid calendar dates only', () => {
    assert.equal(parseDate('1970-01-01'), 0);
    assert.equal(parseDate('2024-02-29'), daysFromCivil(2024, 2, 29));
    assert.equal(parseDate('1969-12-31'), -1);
    assert.equal(parseDate('2000-03-01'), 11017);
    for (const text of ['2023-02-29', '2024-13-01', '2024-00-10', '2024-1-01', '2024/01/01', '20240101'])
      assert.ok(Number.isNaN(parseDate(text)), text);
  });

  it('timestamps with and without zone, normalized to UTC microseconds', () => {
    const utc = (iso: string) => Date.parse(iso) * 1000;
    assert.deepEqual(parseTimestamp('2024-01-01 00:00:00'), { micros: utc('2024-01-01T00:00:00Z'), zoned: false });
    assert.deepEqual(parseTimestamp('2024-01-01T10:30'), { micros: utc('2024-01-01T10:30:00Z'), zoned: false });
    assert.deepEqual(parseTimestamp('2024-01-01 00:00:01.000001+00'), { micros: utc('2024-01-01T00:00:01Z') + 1, zoned: true });
    assert.deepEqual(parseTimestamp('2024-01-01T02:00:00+02:00'), { micros: utc('2024-01-01T00:00:00Z'), zoned: true });
    assert.deepEqual(parseTimestamp('2024-01-01T00:00:00.5-0130'), { micros: utc('2024-01-01T01:30:00Z') + 500_000, zoned: true });
    assert.deepEqual(parseTimestamp('2024-06-30T23:59:59.123456789Z'), undefined, 'nanoseconds would be cut off');
    assert.deepEqual(parseTimestamp('2024-06-30T23:59:59.123456000Z'), { micros: utc('2024-06-30T23:59:59.123Z') + 456, zoned: true });
  });

  it('far dates keep exact microseconds (beyond 2^53)', () => {
    const ts = parseTimestamp('9999-12-31T23:59:59.999999Z')!;
    assert.equal(ts.big, 253402300799999999n);
    assert.equal(parseTimestamp('0001-01-01 00:00:00')!.big, -62135596800000000n);
  });

  it('refuses malformed timestamps', () => {
    for (const text of [
      '2024-01-01 24:00:00',
      '2024-01-01 12:60',
      '2024-01-01 12:00:60',
      '2024-01-01T12',
      '2024-01-01 12:00:00+',
      '2024-01-01 12:00:00+05:',
      '2024-01-01 12:00:00 UTC',
      '2024-02-30 00:00',
    ]) {
      assert.equal(parseTimestamp(text), undefined, text);
    }
  });
});

describe('inference', () => {
  it('classifies CSV text by the narrowest type', () => {
    const cases: [string, Inferred][] = [
      ['true', 'bool'],
      ['FALSE', 'bool'],
      ['42', 'int'],
      ['-9223372036854775808', 'int'],
      ['9223372036854775808', 'float'],
      ['4.5', 'float'],
      ['1e3', 'float'],
      ['2024-01-31', 'date'],
      ['2024-01-31 10:00:00', 'timestamp'],
      ['2024-01-31T10:00:00Z', 'timestamptz'],
      ['007', 'utf8'],
      ['yes', 'utf8'],
      [' 42', 'utf8'],
    ];
    for (const [text, type] of cases) assert.equal(classifyText(text, BOOLEANS), type, text);
    assert.equal(classifyText('1', new Set(['1', '0'])), 'bool', 'configured true_values win over numbers');
  });

  it('classifies JSON strings as dates, timestamps or text', () => {
    assert.equal(classifyJsonString('2024-01-31'), 'date');
    assert.equal(classifyJsonString('2024-01-31T00:00:00+01:00'), 'timestamptz');
    assert.equal(classifyJsonString('123'), 'utf8');
  });

  it('widens int -> float -> utf8, date -> timestamp, json holds anything', () => {
    const cases: [Inferred, Inferred, Inferred][] = [
      ['int', 'float', 'float'],
      ['float', 'int', 'float'],
      ['int', 'utf8', 'utf8'],
      ['float', 'bool', 'utf8'],
      ['date', 'timestamp', 'timestamp'],
      ['timestamptz', 'date', 'timestamptz'],
      ['timestamp', 'timestamptz', 'utf8'],
      ['bool', 'int', 'utf8'],
      ['null', 'date', 'date'],
      ['int', 'null', 'int'],
      ['json', 'int', 'json'],
      ['utf8', 'json', 'json'],
    ];
    for (const [a, b, want] of cases) assert.equal(widenInferred(a, b), want, `${a} + ${b}`);
  });
});

describe('compactJson', () => {
  it('drops whitespace outside strings only', () => {
    const text = '{ "a" : [ 1 , 2.50 ],\n "b": "x  y \\" z" , "c" : { } }';
    assert.equal(compactJson(text, 0, text.length), '{"a":[1,2.50],"b":"x  y \\" z","c":{}}');
  });
});

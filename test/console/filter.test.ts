// The console's filter language: parsing, evaluation, and clear errors; it can express no call.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FilterError, type FilterRecord, matches, parseFilter } from '../../src/console/filter.ts'

const record = (value: unknown, extra: Partial<FilterRecord> = {}): FilterRecord => ({
  key: 'user_1',
  value,
  partition: 2,
  offset: '17',
  timestamp: 1_000,
  headers: { source: 'test' },
  ...extra,
})

const event = { kind: 'transaction', amount: 250.5, rules: ['geo_jump'], location: { lat: 48.1 }, label: null }

test('comparisons on fields, nested paths, indexes, record fields, and/or/not with precedence', () => {
  const cases: [string, boolean][] = [
    ['amount > 100', true],
    ['amount >= 250.5 and amount <= 250.5', true],
    ['value.amount < 100', false],
    ['kind == "transaction"', true],
    ["kind != 'transaction'", false],
    ['location.lat > 48', true],
    ['rules[0] == "geo_jump"', true],
    ['rules contains "geo_jump"', true],
    ['kind contains "trans"', true],
    ['label == null', true],
    ['missing exists', false],
    ['location exists', true],
    ['key == "user_1" and partition == 2 and headers.source == "test"', true],
    ['amount > 1000 or kind == "transaction" and amount > 100', true],
    ['(amount > 1000 or kind == "transaction") and amount > 1000', false],
    ['not amount > 1000', true],
    ['NOT (kind == "payment") AND amount > 0', true],
    ['amount > "100"', false],
    ['constructor exists', false],
    ['__proto__ exists', false],
  ]
  for (const [text, expected] of cases) assert.equal(matches(parseFilter(text), record(event)), expected, text)
})

test('an invalid expression is an error naming what is wrong and where; nothing is callable', () => {
  for (const [text, pattern] of [
    ['', /empty filter/],
    ['amount >', /expected a number, a quoted string/],
    ['amount 5', /expected ==, !=/],
    ['kind == "x', /unterminated string/],
    ['amount > 1 and', /expected a field path/],
    ['(amount > 1', /expected "\)"/],
    ['amount > 1 amount', /expected "and", "or"/],
    ['process.exit() == 1', /unexpected|expected/],
    ['constructor.constructor("return 1")() == 1', /expected|unexpected/],
    ['a; b', /unexpected ";"/],
  ] as const) {
    assert.throws(
      () => parseFilter(text),
      (error: unknown) => error instanceof FilterError && pattern.test(error.message),
      text,
    )
  }
  assert.throws(() => parseFilter('x'.repeat(1_001)), /at most 1000/)
  assert.throws(() => parseFilter(`${'('.repeat(40)}a == 1${')'.repeat(40)}`), /nested deeper/)
})

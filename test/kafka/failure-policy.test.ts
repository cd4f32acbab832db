// The processor runtime's failure policy without a broker: which errors are retried (transient)
// and which blame the record, the backoff between attempts, and processing a partition's records
// one at a time so that the record that throws is set aside and nothing of its call survives.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MultipleErrors, NetworkError, ProtocolError, TimeoutError, UserError } from '@platformatic/kafka'
import { describeError, ErrorCodes, LookoutError } from '../../src/errors.ts'
import { type InputRecord, isolateRecords, type OutputRecord, processChecked } from '../../src/kafka/processor.ts'
import { backoffDelay, FailureStreak, isRetryable, withConnectionRetry } from '../../src/kafka/retry.ts'
import { StateStore } from '../../src/kafka/state-store.ts'
import type { Logger } from '../../src/log.ts'

test('transient Kafka errors are retryable, using the client’s own classification', () => {
  // a leader change, a moving coordinator, a rebalance, a lost connection, a timed-out request
  for (const id of ['NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'NOT_COORDINATOR', 'CONCURRENT_TRANSACTIONS'])
    assert.equal(isRetryable(new ProtocolError(id)), true, id)
  assert.equal(isRetryable(new ProtocolError('REBALANCE_IN_PROGRESS')), true, 'rejoining the group gets past it')
  assert.equal(isRetryable(new ProtocolError('BROKER_NOT_AVAILABLE')), true)
  assert.equal(isRetryable(new NetworkError('Connection closed')), true)
  assert.equal(isRetryable(new TimeoutError('Request timed out')), true)
  assert.equal(
    isRetryable(new MultipleErrors('Cannot connect to any broker.', [new NetworkError('a'), new NetworkError('b')])),
    true,
  )
})

test('permanent Kafka errors are not retryable', () => {
  for (const id of ['TOPIC_AUTHORIZATION_FAILED', 'INVALID_PRODUCER_EPOCH', 'MESSAGE_TOO_LARGE', 'INVALID_TXN_STATE'])
    assert.equal(isRetryable(new ProtocolError(id)), false, id)
  assert.equal(isRetryable(new UserError('bad option')), false)
  // one permanent error among transient ones does not go away by itself
  assert.equal(
    isRetryable(
      new MultipleErrors('x', [
        new ProtocolError('NOT_LEADER_OR_FOLLOWER'),
        new ProtocolError('TOPIC_AUTHORIZATION_FAILED'),
      ]),
    ),
    false,
  )
})

test('Lookout errors say whether they are retryable; other errors blame the input', () => {
  assert.equal(isRetryable(new LookoutError(ErrorCodes.INPUT_INVALID, 'bad amount')), false)
  assert.equal(isRetryable(new LookoutError(ErrorCodes.KAFKA_UNREACHABLE, 'down', { retryable: true })), true)
  assert.equal(isRetryable(new Error('cannot read properties of undefined')), false)
  assert.equal(isRetryable(new TypeError('x is not a function')), false)
  assert.equal(isRetryable('a string'), false)
  assert.equal(isRetryable(undefined), false)
  // a socket error, and a wrapper around a transient cause
  assert.equal(isRetryable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), true)
  assert.equal(isRetryable(new Error('send failed', { cause: new NetworkError('Connection closed') })), true)
})

test('an unreachable Kafka after every connection attempt is a retryable LookoutError', async () => {
  const quiet = { warn() {}, info() {}, error() {}, debug() {} } as unknown as Logger
  const error = await withConnectionRetry(['localhost:1'], { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 }, quiet, () =>
    Promise.reject(new NetworkError('Connection refused')),
  ).catch((e: unknown) => e)
  assert.ok(error instanceof LookoutError)
  assert.equal(error.code, ErrorCodes.KAFKA_UNREACHABLE)
  assert.equal(isRetryable(error), true)
})

test('the backoff doubles per attempt up to its ceiling, half of it jittered', () => {
  const policy = { attempts: 0, baseDelayMs: 200, maxDelayMs: 10_000 }
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffDelay(policy, attempt, () => 1)),
    [200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000],
  )
  assert.deepEqual(
    [1, 2, 3].map((attempt) => backoffDelay(policy, attempt, () => 0)),
    [100, 200, 400],
  )
})

const streakOptions = { baseDelayMs: 200, maxDelayMs: 10_000, stallAfterFailures: 3 }
const who = 'processor score (instance a)'

test('transient failures not attributable to a record stall the runtime when they repeat', () => {
  const streak = new FailureStreak(streakOptions)
  const leaderChange = new ProtocolError('NOT_LEADER_OR_FOLLOWER')
  assert.equal(streak.fail(leaderChange, { who, attributable: false }), false)
  assert.equal(streak.fail(leaderChange, { who, attributable: false }), false)
  assert.equal(streak.stalled, undefined, 'two transient failures are not a stall yet')
  assert.equal(streak.fail(new NetworkError('Connection refused'), { who, attributable: false }), true)
  assert.equal(
    streak.stalled,
    'processor score (instance a) makes no progress: 3 failed attempts in a row, the last: Connection refused',
  )
  assert.equal(streak.succeed(), true, 'a committed batch ends the stall')
  assert.equal(streak.stalled, undefined)
  assert.equal(streak.attempts, 0)
})

test('a failure that is not retryable stalls at once; failures a record is blamed for never do', () => {
  const fenced = new FailureStreak(streakOptions)
  assert.equal(fenced.fail(new ProtocolError('TOPIC_AUTHORIZATION_FAILED'), { who, attributable: false }), true)
  assert.match(fenced.stalled ?? '', /1 failed attempt in a row \(not retryable\)/)

  const poison = new FailureStreak(streakOptions)
  for (let i = 0; i < 10; i++) poison.fail(new Error('cannot score'), { who, attributable: true })
  assert.equal(poison.stalled, undefined)
  assert.equal(poison.attempts, 10, 'but they lengthen the backoff')
})

test('the backoff of a failure streak grows with its length and starts over after a success', () => {
  const streak = new FailureStreak(streakOptions)
  const delays = []
  for (let i = 0; i < 8; i++) {
    streak.fail(new NetworkError('down'), { who, attributable: false })
    delays.push(streak.delayMs(() => 1))
  }
  assert.deepEqual(delays, [200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000])
  streak.succeed()
  streak.fail(new NetworkError('down'), { who, attributable: false })
  assert.equal(
    streak.delayMs(() => 1),
    200,
  )
})

test('an idle runtime that has not failed for longer than the longest backoff is no longer stalled', () => {
  const streak = new FailureStreak(streakOptions) // quiet for 2 × 10 s
  const down = new NetworkError('Connection refused')
  for (const at of [0, 1_000, 3_000]) streak.fail(down, { who, attributable: false }, at)
  assert.ok(streak.stalled)
  assert.equal(streak.idle(3_000 + 19_999), false, 'not quiet for long enough')
  streak.fail(down, { who, attributable: false }, 23_000)
  assert.equal(streak.idle(23_000 + 19_999), false, 'a new failure restarts the quiet period')
  assert.equal(streak.idle(23_000 + 20_000), true, 'quiet and idle: recovered')
  assert.equal(streak.stalled, undefined)
  assert.equal(streak.attempts, 0)
})

function record(offset: number, value: string): InputRecord<string> {
  return { topic: 'in', partition: 0, offset: BigInt(offset), key: value, value, timestamp: 0, headers: new Map() }
}

/** Sums per key in the store; throws on values starting with "bad" after writing to the store. */
const summing = {
  process(records: InputRecord<string>[], { store }: { partition: number; store: StateStore }): OutputRecord[] {
    return records.map((r) => {
      const total = (store.get<number>('total') ?? 0) + 1
      store.put('total', total)
      store.put(`seen:${r.value}`, true)
      if (r.value.startsWith('bad')) throw new Error(`cannot handle ${r.value}`)
      return { topic: 'out', value: `${r.value}:${total}` }
    })
  },
}

test('records processed one at a time: the ones that throw are set aside and their store writes discarded', () => {
  const base = new StateStore()
  base.restore('total', 10)
  const records = ['a', 'bad1', 'b', 'c', 'bad2', 'd'].map((value, i) => record(100 + i, value))
  const { store, outputs, failed } = isolateRecords(summing, records, 0, base)
  assert.deepEqual([...failed.keys()], [1, 4])
  assert.match(String(failed.get(1)), /cannot handle bad1/)
  assert.deepEqual(
    outputs.map((o) => o.value),
    ['a:11', 'b:12', 'c:13', 'd:14'],
    'the good records, each once, counted as if the bad ones never came',
  )
  assert.equal(store.get('total'), 14)
  assert.equal(store.get('seen:bad1'), undefined, 'a failed call leaves nothing in the store')
  assert.equal(store.get('seen:bad2'), undefined)
  assert.deepEqual(
    new Map(store.pendingChanges()),
    new Map<string, unknown>([
      ['total', 14],
      ['seen:a', true],
      ['seen:b', true],
      ['seen:c', true],
      ['seen:d', true],
    ]),
    'only the good records’ writes go to the changelog',
  )
  assert.notEqual(store, base, 'a fresh store object: caches a processor keeps per store start over')
  assert.equal(base.get('total'), 10, 'the store it started from is untouched')
})

test('records processed one at a time keep the pending writes of an earlier call in the same batch', () => {
  const base = new StateStore()
  base.restore('total', 1)
  base.put('total', 5) // e.g. another input topic's records of the same partition number
  const { store, outputs, failed } = isolateRecords(summing, [record(0, 'x')], 0, base)
  assert.equal(failed.size, 0)
  assert.deepEqual(
    outputs.map((o) => o.value),
    ['x:6'],
  )
  assert.equal(store.get('total'), 6)
})

test('a retryable error while records are processed one at a time fails the batch instead of a record', () => {
  const flaky = {
    process(): OutputRecord[] {
      throw new LookoutError(ErrorCodes.KAFKA_UNREACHABLE, 'model registry unreachable', { retryable: true })
    },
  }
  assert.throws(() => isolateRecords(flaky, [record(0, 'a'), record(1, 'b')], 0, new StateStore()), /model registry/)
})

test('every record failing on its own is set aside in one pass each', () => {
  let calls = 0
  const broken = {
    process(): OutputRecord[] {
      calls++
      throw new Error('broken')
    },
  }
  const records = Array.from({ length: 50 }, (_, i) => record(i, `r${i}`))
  const { outputs, failed } = isolateRecords(broken, records, 0, new StateStore())
  assert.equal(failed.size, 50)
  assert.equal(outputs.length, 0)
  assert.equal(calls, 50, 'linear, not quadratic, when every record fails')
})

test('an output the broker would refuse fails its record like a throw', () => {
  const huge = {
    process(records: InputRecord<string>[]): OutputRecord[] {
      return records.map((r) => ({ topic: 'out', value: r.value === 'big' ? 'x'.repeat(2_000_000) : r.value }))
    },
  }
  const store = new StateStore()
  assert.throws(
    () => processChecked(huge, [record(0, 'a'), record(1, 'big')], { partition: 0, store }),
    /an output record for out has 2000000 bytes, over the broker's 1048588-byte record limit/,
  )
  const { outputs, failed } = isolateRecords(huge, [record(0, 'a'), record(1, 'big'), record(2, 'b')], 0, store)
  assert.deepEqual([...failed.keys()], [1])
  assert.deepEqual(
    outputs.map((o) => o.value),
    ['a', 'b'],
  )
})

test('describeError names what an aggregate or a wrapped error hides, once each', () => {
  const produced = new MultipleErrors('Producing messages failed.', [
    new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION'),
    new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION'),
  ])
  const text = describeError(produced)
  assert.ok(text.startsWith('Producing messages failed. ['), text)
  assert.equal(text.split(new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION').message).length - 1, 1, text)
  assert.equal(describeError(new Error('outer', { cause: new Error('inner') })), 'outer caused by inner')
  assert.equal(describeError(new Error('alone')), 'alone')
  assert.equal(describeError('a string'), 'a string')
})

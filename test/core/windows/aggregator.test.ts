// Property tests of the window aggregator against a brute-force recomputation: random streams
// from several input partitions, out of order within each and interleaved across them, with
// events far later than the lateness bound; processed in random batches, with a restart from
// the changelog part-way.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Random } from '../../../src/core/random.ts'
import type { AggregationDefinition } from '../../../src/core/windows/aggregation.ts'
import {
  type AggregatorInput,
  type AggregatorOptions,
  type AggregatorOutput,
  type LateEvent,
  WindowAggregator,
  type WindowResult,
} from '../../../src/core/windows/aggregator.ts'
import { windowStarts } from '../../../src/core/windows/window.ts'
import { StateStore } from '../../../src/kafka/state-store.ts'
import { referenceResults, windowsOf } from './brute-force.ts'

const t0 = 1_767_225_600_000 // 2026-01-01T00:00:00Z

const definitions: AggregationDefinition[] = [
  {
    name: 'tumbling',
    kind: 'payment',
    key: 'merchant_id',
    window: { sizeMs: 60_000, slideMs: 60_000 },
    aggregates: [
      { op: 'count', as: 'count' },
      { op: 'sum', field: 'amount', as: 'sum' },
      { op: 'min', field: 'amount', as: 'min' },
      { op: 'max', field: 'amount', as: 'max' },
      { op: 'mean', field: 'amount', as: 'mean' },
      { op: 'distinct', field: 'customer_id', as: 'customers' },
    ],
    emit: 'final',
    graceMs: 0,
  },
  {
    name: 'sliding',
    kind: 'payment',
    key: 'merchant_category',
    window: { sizeMs: 60_000, slideMs: 20_000 },
    aggregates: [
      { op: 'count', as: 'count' },
      { op: 'sum', field: 'amount', as: 'sum' },
    ],
    emit: 'update',
    graceMs: 5_000,
  },
]

interface StreamOptions {
  events: number
  sources: number
  keys: number
  /** Out-of-orderness within a partition, ms. */
  disorderMs: number
  /** Share of events far later than the lateness bound. */
  lateShare: number
}

/** Inputs as the route processor would send them: each event once per aggregation, marks now and then. */
function randomStream(random: Random, options: StreamOptions): AggregatorInput[] {
  const clocks = Array.from({ length: options.sources }, () => t0 + random.integer(0, 30_000))
  const maxima = Array.from({ length: options.sources }, () => Number.NEGATIVE_INFINITY)
  // partitions progress at different speeds, so interleaving them is out of order too
  const speeds = Array.from({ length: options.sources }, () => random.uniform(0.5, 2))
  const inputs: AggregatorInput[] = []
  let wallMs = 1_000
  for (let n = 0; n < options.events; n++) {
    const source = random.weightedIndex(speeds)
    clocks[source]! += Math.round(random.exponential(1 / 2_000))
    let timeMs = clocks[source]! - random.integer(0, options.disorderMs)
    if (random.bernoulli(options.lateShare)) timeMs -= random.integer(60_000, 600_000)
    maxima[source] = Math.max(maxima[source]!, timeMs)
    wallMs += random.integer(0, 20)
    const key = `k${random.integer(0, options.keys - 1)}`
    const amount = random.integer(1, 1000)
    const customer = `c${random.integer(0, 9)}`
    for (const definition of definitions)
      inputs.push({
        type: 'event',
        aggregation: definition.name,
        key: definition.name === 'tumbling' ? key : `cat${key.length % 3}${key.slice(-1)}`,
        timeMs,
        inputs: definition.aggregates.map((a) => (a.field === 'amount' ? amount : a.field ? customer : null)),
        source,
        wallMs,
        id: `e${n}`,
      })
    if (random.bernoulli(0.05)) {
      const target = random.integer(0, options.sources - 1)
      if (Number.isFinite(maxima[target]!))
        inputs.push({ type: 'mark', source: target, maxTimeMs: maxima[target]!, wallMs })
    }
  }
  return inputs
}

/** Runs `inputs` in random batches; restarts from the changelog at `restartAt` (an input index). */
function run(inputs: readonly AggregatorInput[], options: AggregatorOptions, random: Random, restartAt = -1) {
  let aggregator = new WindowAggregator(definitions, options)
  let store = new StateStore()
  const changelog: [string, string | undefined][] = []
  const outputs: AggregatorOutput[] = []
  let restarted = false
  for (let i = 0; i < inputs.length; ) {
    const size = random.integer(1, 200)
    const batch = inputs.slice(i, i + size)
    outputs.push(...aggregator.process(store, batch))
    for (const [key, value] of store.pendingChanges())
      changelog.push([key, value === undefined ? undefined : JSON.stringify(value)])
    store.commitPending()
    i += batch.length
    if (!restarted && restartAt >= 0 && i >= restartAt) {
      // a new instance: a fresh store restored from the changelog, a fresh aggregator
      restarted = true
      store = new StateStore()
      for (const [key, value] of changelog) store.restore(key, value === undefined ? undefined : JSON.parse(value))
      aggregator = new WindowAggregator(definitions, options)
    }
  }
  return { outputs, store, aggregator }
}

/** A tick long after everything: every input partition idle, the watermark follows the clock and closes all. */
function flush(inputs: readonly AggregatorInput[], idleTimeoutMs: number): AggregatorInput {
  return { type: 'tick', wallMs: inputs[inputs.length - 1]!.wallMs + idleTimeoutMs + 365 * 86_400_000 }
}

function finalKey(result: { aggregation: string; key: string; windowStart: number }) {
  return `${result.aggregation}|${result.key}|${result.windowStart}`
}

for (const seed of [1, 2, 3, 4, 5, 6]) {
  test(`seed ${seed}: final windows equal the brute force over events within the lateness bound; every late event is reported`, () => {
    const random = new Random(seed)
    const sources = random.integer(1, 4)
    const latenessMs = random.pick([0, 5_000, 30_000])
    const inputs = randomStream(random, {
      events: 3_000,
      sources,
      keys: random.integer(1, 40),
      disorderMs: random.pick([0, 3_000, 20_000, 90_000]),
      lateShare: random.pick([0, 0.02, 0.1]),
    })
    const options = { sources, latenessMs, idleTimeoutMs: 1e12, maxOpenWindows: 1e9 }
    const restartAt = random.integer(0, inputs.length)
    const { outputs, store, aggregator } = run([...inputs, flush(inputs, 1e12)], options, random, restartAt)
    const reference = referenceResults(definitions, inputs, sources, latenessMs)

    const finals = outputs.filter((o): o is WindowResult => o.type === 'result' && o.final)
    const byWindow = new Map(finals.map((result) => [finalKey(result), result]))
    assert.equal(byWindow.size, finals.length, 'each window has one final result')
    assert.equal(finals.length, reference.windows.length, 'as many final windows as the brute force')
    for (const expected of reference.windows) {
      const actual = byWindow.get(finalKey(expected))
      assert.ok(actual, `window ${finalKey(expected)} closed`)
      for (const [name, value] of Object.entries(expected.values)) {
        if (value === null || actual.values[name] === null) assert.equal(actual.values[name], value)
        else assert.ok(Math.abs(actual.values[name]! - value) < 1e-6, `${finalKey(expected)} ${name}`)
      }
      const definition = definitions.find((d) => d.name === expected.aggregation)!
      assert.equal(actual.windowEnd - actual.windowStart, definition.window.sizeMs)
      assert.equal(actual.closedBy, 'watermark')
    }
    const late = outputs.filter((o): o is LateEvent => o.type === 'late')
    assert.deepEqual(
      late.map((l) => `${l.id}|${l.aggregation}|${l.windowStart}`).sort(),
      reference.late.map((l) => `${l.id}|${l.aggregation}|${l.windowStart}`).sort(),
      'exactly the late (event, window) pairs of the brute force are reported',
    )
    // per-window late counts run 1, 2, 3, … (while the counter is kept)
    const counts = new Map<string, number>()
    for (const l of late) {
      const key = finalKey(l)
      const expected = (counts.get(key) ?? 0) + 1
      if (l.lateCount !== 1) assert.equal(l.lateCount, expected, `late count of ${key}`)
      counts.set(key, l.lateCount)
      assert.ok(l.windowEnd + definitions.find((d) => d.name === l.aggregation)!.graceMs <= l.watermark)
    }
    // every event is in each of its windows or reported late for it
    let pairs = 0
    for (const input of inputs)
      if (input.type === 'event')
        pairs += windowsOf(input.timeMs, definitions.find((d) => d.name === input.aggregation)!).length
    const counted = finals.reduce((sum, result) => sum + (result.values.count ?? 0), 0)
    assert.equal(counted + late.length, pairs, 'nothing lost, nothing counted twice')
    assert.equal(aggregator.openWindows(store), 0, 'closed windows are evicted')
  })
}

test('update mode emits the running values (final: false) of the windows a batch changed, then the final one', () => {
  const aggregator = new WindowAggregator(definitions, {
    sources: 1,
    latenessMs: 0,
    idleTimeoutMs: 1e12,
    maxOpenWindows: 1e9,
  })
  const store = new StateStore()
  const event = (timeMs: number, amount: number): AggregatorInput => ({
    type: 'event',
    aggregation: 'sliding',
    key: 'food',
    timeMs,
    inputs: [null, amount],
    source: 0,
    wallMs: 0,
  })
  const first = aggregator.process(store, [event(t0 + 1_000, 5), event(t0 + 2_000, 7)])
  assert.deepEqual(
    first.map((o) => o.type === 'result' && [o.windowStart - t0, o.values.count, o.values.sum, o.final]),
    windowStarts(t0 + 1_000, definitions[1]!.window).map((start) => [start - t0, 2, 12, false]),
  )
  store.commitPending()
  const second = aggregator.process(store, [event(t0 + 70_000, 1)])
  const finals = second.filter((o) => o.type === 'result' && o.final)
  // the watermark is at 70 s: windows ending by 65 s (grace 5 s) closed: [-40, 20), [-20, 40) and [0, 60)
  assert.deepEqual(
    finals.map((o) => o.type === 'result' && [o.windowStart - t0, o.values.count, o.values.sum]),
    [
      [-40_000, 2, 12],
      [-20_000, 2, 12],
      [0, 2, 12],
    ],
  )
})

test('the idle timeout: a silent input partition stops holding the watermark back; when all are silent the wall clock closes the last windows', () => {
  const options = { sources: 2, latenessMs: 1_000, idleTimeoutMs: 10_000, maxOpenWindows: 1e9 }
  const aggregator = new WindowAggregator(definitions.slice(0, 1), options)
  const store = new StateStore()
  const event = (source: number, timeMs: number, wallMs: number): AggregatorInput => ({
    type: 'event',
    aggregation: 'tumbling',
    key: 'm1',
    timeMs,
    inputs: [null, 1, 1, 1, 1, 'c'],
    source,
    wallMs,
  })
  // partition 1 has not been heard from: nothing closes, however far partition 0 gets
  aggregator.process(store, [event(0, t0 + 5_000, 0), event(0, t0 + 300_000, 1_000)])
  assert.equal(aggregator.watermark(store), Number.NEGATIVE_INFINITY)
  // once partition 1 is heard from, the watermark is the smaller of the two
  aggregator.process(store, [event(1, t0 + 10_000, 2_000)])
  assert.equal(aggregator.watermark(store), t0 + 9_000)
  // silent, but with records still to read (a backlog after a restart): not idle
  aggregator.process(store, [{ type: 'tick', wallMs: 12_000, busy: [1] }])
  assert.equal(aggregator.watermark(store), t0 + 9_000)
  // partition 1 silent for the idle timeout (ticks carry the wall clock): partition 0 alone holds the watermark
  const closed = aggregator.process(store, [
    { type: 'tick', wallMs: 11_999 },
    { type: 'tick', wallMs: 12_000 },
  ])
  assert.equal(aggregator.watermark(store), t0 + 299_000)
  assert.deepEqual(
    closed.map((o) => o.type === 'result' && o.windowStart - t0),
    [0],
  )
  // both silent: the watermark follows the wall clock, so the last window closes too
  const last = aggregator.process(store, [{ type: 'tick', wallMs: 11_000 + 10_000 + 60_000 }])
  assert.deepEqual(
    last.map((o) => o.type === 'result' && [o.windowStart - t0, o.final]),
    [[300_000, true]],
  )
  // a late event after that is reported with the window it missed, not dropped
  const late = aggregator.process(store, [event(1, t0 + 301_000, 81_001)])
  assert.deepEqual(
    late.map((o) => o.type),
    ['late'],
  )
})

test('the open-window cap closes the earliest windows early (closedBy: cap); their later events are reported late', () => {
  const random = new Random(9)
  const inputs = randomStream(random, { events: 2_000, sources: 2, keys: 30, disorderMs: 5_000, lateShare: 0 })
  const options = { sources: 2, latenessMs: 60_000, idleTimeoutMs: 1e12, maxOpenWindows: 20 }
  const { outputs, store, aggregator } = run(inputs, options, random)
  const capped = outputs.filter((o) => o.type === 'result' && o.final && o.closedBy === 'cap')
  assert.ok(capped.length > 0, 'the cap closed windows')
  assert.ok(aggregator.openWindows(store) <= 20, 'at most the cap stays open')
  const rest = run([...inputs, flush(inputs, 1e12)], options, new Random(9))
  const finals = rest.outputs.filter((o): o is WindowResult => o.type === 'result' && o.final)
  const late = rest.outputs.filter((o) => o.type === 'late').length
  let pairs = 0
  for (const input of inputs)
    if (input.type === 'event')
      pairs += windowsOf(input.timeMs, definitions.find((d) => d.name === input.aggregation)!).length
  assert.equal(finals.reduce((sum, r) => sum + (r.values.count ?? 0), 0) + late, pairs, 'still nothing lost or doubled')
  assert.equal(new Set(finals.map(finalKey)).size, finals.length, 'no window closes twice')
})

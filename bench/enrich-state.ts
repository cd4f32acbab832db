// Enrichment state for many entities: bytes per entity in the enrich service's store (heap) and
// in its changelog, and the time to restore the store from the changelog through a real broker.
//
//   node --expose-gc bench/enrich-state.ts [entities=1000000] [eventsPerEntity=3]
//   (BENCH_KAFKA_PORT: the broker's port, default 19692)
//
// Each entity's state is what `enrich` leaves after `eventsPerEntity` phased transactions of that
// entity (amount statistics, recent amounts, the one-hour window), kept in a StateStore as the
// service keeps it (committed states as JSON text, `serializedState`). Memory: heap after a
// full GC, with and without the store, per entity; beside it, the same states as objects (how
// the store kept them before).
// Changelog: the records the runtime writes (entity key, the state's JSON), produced to a
// compacted topic; restore: reading them back (read committed, 1 MB fetches) and applying them
// to a fresh store, JSON parsing included, as the runtime restores a partition.
import { loadConfig } from '../src/config/load.ts'
import { enrich } from '../src/core/pipeline/events.ts'
import { PhasedGenerator } from '../src/core/sources/phased.ts'
import { connectAdmin, ensureTopics } from '../src/kafka/admin.ts'
import { kafkaContext } from '../src/kafka/context.ts'
import { createProducer } from '../src/kafka/producer.ts'
import { forEachInRanges } from '../src/kafka/range.ts'
import { StateStore } from '../src/kafka/state-store.ts'
import { partitionOffsets } from '../src/kafka/tail.ts'
import { startBenchBroker } from './lib/broker.ts'
import { writeResults } from './lib/results.ts'

const entities = Number(process.argv[2] ?? 1_000_000)
const eventsPerEntity = Number(process.argv[3] ?? 3)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc bench/enrich-state.ts (the heap is measured after a full GC)')

function heap(): number {
  gc!()
  gc!()
  return process.memoryUsage().heapUsed
}

const before = heap()
const store = new StateStore({ serialized: true })
const generator = new PhasedGenerator({ seed: 1 })
const started = performance.now()
for (let round = 0; round < eventsPerEntity; round++) {
  for (let i = 0; i < entities; i++) {
    const key = `user_${i}`
    const event = { ...generator.next(Date.UTC(2025, 0, 1) / 1000), user_id: key }
    store.put(key, enrich(event, store.get(key)).nextState)
    if (i % 10_000 === 9_999) store.commitPending()
  }
  store.commitPending()
}
const enrichSeconds = (performance.now() - started) / 1000
const withStore = heap()
const perEntity = (withStore - before) / entities
process.stderr.write(`store: ${entities} entities, ${Math.round(perEntity)} bytes per entity in the heap\n`)
let objects: StateStore | undefined = new StateStore()
for (const [key, value] of store.entries()) objects.restore(key, value)
const perEntityAsObjects = (heap() - withStore) / entities
// read after the measurement, so the collector cannot free it before
if (objects.size !== entities) throw new Error(`${objects.size} entities as objects, expected ${entities}`)
objects = undefined
process.stderr.write(`as objects: ${Math.round(perEntityAsObjects)} bytes per entity\n`)

let changelogBytes = 0
for (const [key, value] of store.entries()) changelogBytes += key.length + JSON.stringify(value).length
process.stderr.write(`changelog: ${Math.round(changelogBytes / entities)} bytes per entity (key + JSON value)\n`)

const broker = await startBenchBroker()
let restoreSeconds = 0
let produceSeconds = 0
let restored = 0
try {
  const prefix = `bench-state-${Date.now()}.`
  const context = kafkaContext(loadConfig({ env: {}, flags: { 'topics.prefix': prefix } }), [broker.bootstrap])
  const topic = `${prefix}lookout-enrich-state-changelog`
  const admin = await connectAdmin(context)
  await ensureTopics(admin, [{ name: topic, partitions: 3, replicationFactor: 1, compacted: true }])
  const producer = createProducer(context, { name: 'bench-state' })
  const produceStart = performance.now()
  let batch: { topic: string; key: Buffer; value: Buffer }[] = []
  const inflight: Promise<unknown>[] = []
  for (const [key, value] of store.entries()) {
    batch.push({ topic, key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) })
    if (batch.length === 2_000) {
      inflight.push(producer.send({ messages: batch }))
      batch = []
      if (inflight.length >= 8) await Promise.all(inflight.splice(0))
    }
  }
  if (batch.length > 0) inflight.push(producer.send({ messages: batch }))
  await Promise.all(inflight)
  await producer.close()
  produceSeconds = (performance.now() - produceStart) / 1000
  const ranges = (await partitionOffsets(admin, topic)).map((p) => ({
    partition: p.partition,
    from: p.earliest,
    to: p.end,
  }))
  await admin.close()

  const fresh = new StateStore({ serialized: true })
  const restoreStart = performance.now()
  restored = await forEachInRanges(
    context,
    topic,
    ranges,
    (message) => {
      fresh.restoreText(message.key.toString(), message.value?.length ? message.value.toString() : undefined)
      return true
    },
    { timeoutMs: 600_000, name: 'restore' },
  )
  restoreSeconds = (performance.now() - restoreStart) / 1000
  if (fresh.size !== entities) throw new Error(`restored ${fresh.size} entities, expected ${entities}`)
} finally {
  await broker.stop()
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
console.log(`enrichment state, ${fmt(entities)} entities, ${eventsPerEntity} phased transactions each`)
console.log(
  `  in memory (heap after GC): ${fmt(perEntity)} bytes per entity   target ≤ 300 ${perEntity <= 300 ? 'met' : 'NOT met'}; the same states as objects: ${fmt(perEntityAsObjects)}`,
)
console.log(`  changelog (key + JSON value): ${fmt(changelogBytes / entities)} bytes per entity`)
console.log(
  `  restore from the changelog: ${restoreSeconds.toFixed(1)} s (${fmt(restored / restoreSeconds)} records/s); produced in ${produceSeconds.toFixed(1)} s; enrich ${fmt((entities * eventsPerEntity) / enrichSeconds)} events/s`,
)
const path = writeResults('enrich-state', `node --expose-gc bench/enrich-state.ts ${entities} ${eventsPerEntity}`, {
  entities,
  eventsPerEntity,
  bytesPerEntityInMemory: perEntity,
  bytesPerEntityAsObjects: perEntityAsObjects,
  bytesPerEntityInChangelog: changelogBytes / entities,
  restoreSeconds,
  restoreRecordsPerSecond: restored / restoreSeconds,
})
console.log(`figures written to ${path}`)

import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { LookoutEvent } from '../../../src/core/events.ts'
import { decodeEnriched, encodeEnriched, isBinaryEnriched } from '../../../src/core/pipeline/enriched-record.ts'
import type { EnrichedEvent } from '../../../src/core/pipeline/events.ts'
import { MetricGenerator } from '../../../src/core/sources/metrics.ts'
import { PaymentGenerator } from '../../../src/core/sources/payments.ts'
import { PhasedGenerator } from '../../../src/core/sources/phased.ts'
import { PointGenerator } from '../../../src/core/sources/points.ts'
import { OfflinePipeline } from '../../../src/offline/offline.ts'

/** Events of every built-in kind, enriched in order as the enrich service would. */
function enrichedOfEveryKind(): EnrichedEvent[] {
  const start = Date.UTC(2025, 0, 1)
  const phased = new PhasedGenerator({ seed: 4, users: 30 })
  const payments = new PaymentGenerator({ seed: 4, startTimeMs: start })
  const points = new PointGenerator({ seed: 4, firstId: 0 })
  const metrics = new MetricGenerator({ seed: 4, startTimeMs: start })
  const events: LookoutEvent[] = []
  for (let i = 0; i < 400; i++)
    events.push(phased.next(start / 1000), payments.next(start / 1000), points.next(start + i * 10), metrics.next())
  const pipeline = new OfflinePipeline({ partitions: 1 })
  return events.map((event) => pipeline.enrich(event))
}

const all = enrichedOfEveryKind()

test('a binary enriched record reads back as its JSON does: every field, features to the bit', () => {
  assert.ok(new Set(all.map((event) => event.kind)).size >= 4, 'every built-in kind')
  for (const event of all) {
    const binary = encodeEnriched(event)
    assert.ok(isBinaryEnriched(binary))
    const fromBinary = decodeEnriched(binary)
    const fromJson = decodeEnriched(JSON.stringify(event))
    assert.equal(JSON.stringify(fromBinary), JSON.stringify(fromJson))
    assert.equal(fromBinary.features.length, event.features.length)
    for (let i = 0; i < event.features.length; i++) assert.ok(Object.is(fromBinary.features[i], event.features[i]))
    assert.deepEqual(fromBinary.event, fromJson.event)
    assert.equal(fromBinary.producedAt, fromJson.producedAt)
  }
})

test('a binary enriched record: non-ASCII text, -0 read as 0 (as JSON), no producedAt', () => {
  const event: EnrichedEvent = {
    ...all[0]!,
    id: 'zahlung-ü-€-𝄞',
    entity: 'ユーザー_7',
    producedAt: undefined,
    features: all[0]!.features.map((value, i) => (i === 0 ? -0 : value)),
  }
  const read = decodeEnriched(encodeEnriched(event))
  assert.equal(read.id, event.id)
  assert.equal(read.entity, event.entity)
  assert.equal(read.producedAt, undefined)
  assert.ok(Object.is(read.features[0], 0))
  assert.deepEqual(read.features, JSON.parse(JSON.stringify(event.features)))
})

test('a binary enriched record cut short, of another version or of a wrong feature count is refused with a reason', () => {
  const binary = encodeEnriched(all[0]!)
  for (let length = 2; length < binary.length; length++)
    assert.throws(
      () => decodeEnriched(binary.subarray(0, length)),
      /cut short|the enriched record's event is not JSON/,
      `cut at ${length} of ${binary.length} bytes`,
    )
  const later = Buffer.from(binary)
  later[1] = 9
  assert.throws(() => decodeEnriched(later), /binary version 9; this Lookout reads version 1/)
  const short = encodeEnriched({ ...all[0]!, features: all[0]!.features.slice(1) })
  assert.throws(() => decodeEnriched(short), /features must be an array of \d+ numbers for kind/)
  assert.throws(() => decodeEnriched(Buffer.from('{"kind":')), /not JSON nor a binary enriched record/)
})

test('an id or entity key too long for a binary enriched record is refused, naming it', () => {
  assert.throws(
    () => encodeEnriched({ ...all[0]!, id: 'x'.repeat(70_000) }),
    /^RangeError: the event's id has 70000 bytes; an enriched record holds at most 65,535$/,
  )
  assert.throws(() => encodeEnriched({ ...all[0]!, entity: 'é'.repeat(40_000) }), /entity key has 80000 bytes/)
  assert.equal(decodeEnriched(encodeEnriched({ ...all[0]!, id: 'x'.repeat(65_535) })).id.length, 65_535)
})

test('a binary enriched record is smaller than its JSON', () => {
  let binary = 0
  let json = 0
  for (const event of all) {
    binary += encodeEnriched(event).length
    json += Buffer.byteLength(JSON.stringify(event))
  }
  assert.ok(binary < json, `${binary} bytes binary, ${json} as JSON`)
})

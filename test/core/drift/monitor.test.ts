import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DriftMonitor, type DriftMonitorOptions, type MonitoredEvent } from '../../../src/core/drift/monitor.ts'
import { PhasedGenerator } from '../../../src/core/sources/phased.ts'

/** Phased transactions from `from` to `to` as the monitor sees them (score from a seeded stand-in). */
function* phased(from: number, to: number, modelVersion: (n: number) => string | null = () => 'v1') {
  const generator = new PhasedGenerator({ seed: 3 })
  generator.fastForward(from)
  for (let n = from; n < to; n++) {
    const event = generator.next(0)
    const monitored: MonitoredEvent = {
      // a scorer that flags exactly the labelled events, with a little noise below the threshold
      score: event.anomaly_label === 1 ? 0.995 : ((n * 7919) % 1000) / 1010,
      label: event.anomaly_label,
      amount: event.amount,
      modelVersion: modelVersion(n),
      eventTime: Date.parse(event.timestamp),
      eventNumber: n,
      phase: event.phase,
    }
    yield monitored
  }
}

const options: DriftMonitorOptions = { threshold: 0.99, cooldownEvents: 20_000, trainWindowEvents: 2_000 }

test('the amount shift at a phase transition is one drift within 1,000 events, then one retraining request', () => {
  const monitor = new DriftMonitor(options)
  const drifts: number[] = []
  const requests = []
  for (const event of phased(90_000, 110_000)) {
    const { drift, request } = monitor.update(event)
    if (drift) drifts.push(drift.eventNumber!)
    if (request) requests.push(request)
  }
  assert.equal(drifts.length, 1, `drifts at ${drifts.join(', ')}`)
  assert.ok(drifts[0]! >= 100_000 && drifts[0]! < 101_000, `drift at ${drifts[0]}`)
  assert.equal(requests.length, 1)
  const request = requests[0]!
  assert.equal(request.range.fromEventNumber, drifts[0])
  assert.equal(request.range.toEventNumber, drifts[0]! + 2_000)
  assert.ok(request.range.toEventTime > request.range.fromEventTime)
  assert.equal(request.drift.signal, 'amount')
})

test('a stable stretch of 100,000 events raises no drift', () => {
  const monitor = new DriftMonitor(options)
  const drifts = []
  for (const event of phased(0, 100_000)) if (monitor.update(event).drift) drifts.push(event.eventNumber)
  assert.deepEqual(drifts, [])
})

test('without a cool-down every detection is published', () => {
  const monitor = new DriftMonitor({ ...options, cooldownEvents: 0 })
  let count = 0
  for (const event of phased(99_000, 101_000)) if (monitor.update(event).drift) count++
  assert.ok(count >= 2, `${count} drifts`)
})

test('saved and restored mid-stream, the monitor continues exactly as one that never stopped', () => {
  const straight = new DriftMonitor(options)
  let resumed = new DriftMonitor(options)
  const a: string[] = []
  const b: string[] = []
  for (const event of phased(95_000, 105_000)) {
    const one = straight.update(event)
    if (event.eventNumber === 99_990)
      resumed = DriftMonitor.fromJSON(options, JSON.parse(JSON.stringify(resumed.toJSON())))
    const two = resumed.update(event)
    if (one.drift) a.push(`${one.drift.detector}@${one.drift.eventNumber}`)
    if (two.drift) b.push(`${two.drift.detector}@${two.drift.eventNumber}`)
  }
  assert.equal(a.length, 1)
  assert.deepEqual(b, a)
  assert.deepEqual(resumed.toJSON(), straight.toJSON())
})

test('a new model version restarts the error and score detectors and their warm-up', () => {
  const monitor = new DriftMonitor({ ...options, signals: ['error', 'score'] })
  const drifts = []
  for (const event of phased(0, 30_000, (n) => (n < 15_000 ? 'v1' : 'v2')))
    if (monitor.update(event).drift) drifts.push(event.eventNumber)
  assert.deepEqual(drifts, [])
  // DDM saw only the events after v2 arrived and its 500-event warm-up (the first v2 event included)
  assert.equal((monitor.toJSON().detectors.ddm as { n: number }).n, 15_000 - 501)
})

// Analysts' labels joined into the drift service's DDM and the shadow judge, without a broker
// (the harness runs the processors as the runtime does; labels come from the labels topic).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DriftMonitorState } from '../../src/core/drift/monitor.ts'
import { encodeLabel, type LabelRecord } from '../../src/core/feedback.ts'
import { decodeEnriched } from '../../src/core/pipeline/enriched-record.ts'
import type { ScoredEvent } from '../../src/core/pipeline/events.ts'
import type { LoadedModel } from '../../src/core/pipeline/scorer.ts'
import { ShadowJudge, ShadowJudges } from '../../src/core/pipeline/shadow.ts'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { trainForest } from '../../src/core/training.ts'
import { StateStore } from '../../src/kafka/state-store.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { driftProcessor } from '../../src/services/drift.ts'
import { enrichProcessor } from '../../src/services/enrich.ts'
import { scoreProcessor } from '../../src/services/score.ts'
import { keyed, outputValues, restoredStore, runProcessor } from '../helpers/processor.ts'

const prefix = 'unit.'
const labels = topicName(prefix, 'labels')
const options = { topicPrefix: prefix, monitor: { threshold: 0.9, warmupEvents: 10 } }

function scored(i: number, score: number, label?: 0 | 1): ScoredEvent {
  return {
    kind: 'transaction',
    id: `e${i}`,
    entity: `u${i % 3}`,
    eventTime: 1_700_000_000_000 + i * 1_000,
    producedAt: undefined,
    score,
    scores: {},
    rules: [],
    contributions: [],
    modelVersion: 'transaction-v1',
    amount: 10 + (i % 7),
    ...(label === undefined ? {} : { label }),
  }
}

function mark(event: ScoredEvent, label: 0 | 1): LabelRecord {
  return { eventId: event.id, entity: event.entity, label, by: 'ana', at: '2026-12-02T10:00:00.000Z' }
}

const asLabel = (label: LabelRecord) => keyed(label.entity, encodeLabel(label), 0, labels)
const asEvent = (event: ScoredEvent) => keyed(event.entity, event)

function labelled(store: StateStore) {
  return store.get<DriftMonitorState>('monitor:transaction')?.labelled
}

test('drift: marks of flagged events without ground truth feed DDM, whichever comes first; the first mark counts', async () => {
  const events = Array.from({ length: 40 }, (_, i) => scored(i, i % 5 === 0 ? 0.95 : 0.2))
  const flagged = events.filter((event) => event.score >= 0.9)
  // marks of the first four flagged events after the events; of the last one before its event
  const early = mark(flagged.at(-1)!, 1)
  const records = [
    asLabel(early),
    ...events.map(asEvent),
    ...flagged.slice(0, 4).map((event, i) => asLabel(mark(event, i % 2 === 0 ? 0 : 1))),
    asLabel(mark(flagged[0]!, 1)), // a second mark of the same event
  ]
  const result = await runProcessor(driftProcessor(options), records)
  assert.deepEqual(result.deadLetters, [])
  assert.deepEqual(labelled(result.store), { event: 0, analyst: 5 })
  const ddm = result.store.get<DriftMonitorState>('monitor:transaction')!.detectors.ddm as { n: number }
  assert.equal(ddm.n, 5, 'DDM counted the five marks')

  // batch by batch, and restarted from the changelog half-way: the same counts
  const first = await runProcessor(driftProcessor(options), records.slice(0, 20), new StateStore(), { batchSize: 7 })
  const rest = await runProcessor(driftProcessor(options), records.slice(20), restoredStore(first.changelog), {
    batchSize: 3,
  })
  assert.deepEqual(labelled(rest.store), { event: 0, analyst: 5 })
})

test('drift: events with ground truth count as before; marks of them, of unknown events or malformed are not joined', async () => {
  const events = Array.from({ length: 30 }, (_, i) => scored(i, i % 5 === 0 ? 0.95 : 0.2, i % 5 === 0 ? 1 : 0))
  const records = [
    ...events.map(asEvent),
    asLabel(mark(events[0]!, 0)), // has ground truth: not remembered, waits
    asLabel({ ...mark(events[1]!, 0), eventId: 'unknown' }),
    keyed('u1', '{"eventId":"e1"}', 0, labels),
    keyed('u1', 'not json', 0, labels),
  ]
  const result = await runProcessor(driftProcessor(options), records)
  // the first 11 events are the warm-up after the model appeared
  assert.deepEqual(labelled(result.store), { event: 19, analyst: 0 })
  assert.deepEqual(
    result.deadLetters.map((letter) => [letter.topic, letter.reason.replace(/: Unexpected.*/, '')]),
    [
      [labels, 'invalid label: a label needs a string entity'],
      [labels, 'invalid label: not JSON'],
    ],
  )
})

test('drift: a mark of an event scored by an earlier model is not counted (errors belong to a model)', async () => {
  const events = Array.from({ length: 20 }, (_, i) => scored(i, 0.95))
  const newer = Array.from({ length: 20 }, (_, i) => ({ ...scored(100 + i, 0.2), modelVersion: 'transaction-v2' }))
  const records = [...events.map(asEvent), ...newer.map(asEvent), asLabel(mark(events[15]!, 0))]
  const result = await runProcessor(driftProcessor(options), records)
  assert.deepEqual(labelled(result.store), { event: 0, analyst: 0 })
})

test('shadow judge: analysts’ labels count as labelled events, and the verdict says how many', () => {
  const judge = new ShadowJudge('transaction-v2', { minLabelled: 4 })
  assert.equal(judge.observe(0.4, 0.6, undefined), undefined)
  assert.equal(judge.observe(0.5, 0.7, 1), undefined)
  assert.equal(judge.observeLabel(0.4, 0.6, 0), undefined)
  assert.equal(judge.observeLabel(0.6, 0.9, 1), undefined)
  const verdict = judge.observeLabel(0.7, 0.2, 0)!
  assert.deepEqual(judge.labelled, { total: 4, analyst: 3 })
  assert.equal(verdict.labelled, 4)
  assert.equal(verdict.analystLabelled, 3)
  assert.equal(verdict.events, 2, 'a label is not a second event')
  assert.match(verdict.reason, /^ROC-AUC on 4 labelled events \(3 labelled by analysts\): shadow /)

  // a label for a version that is no longer the shadow, or decided, is ignored
  const judges = new ShadowJudges({ minLabelled: 2 })
  judges.observe('transaction', 'transaction-v3', { live: 0.1, shadow: 0.2 }, undefined)
  assert.equal(judges.observeLabel('transaction', 'transaction-v2', { live: 0.1, shadow: 0.2 }, 1), undefined)
  assert.deepEqual(judges.labelled('transaction'), { shadowVersion: 'transaction-v3', total: 0, analyst: 0 })
  judges.observeLabel('transaction', 'transaction-v3', { live: 0.1, shadow: 0.2 }, 1)
  assert.ok(judges.observeLabel('transaction', 'transaction-v3', { live: 0.3, shadow: 0.1 }, 0))
  assert.equal(judges.observeLabel('transaction', 'transaction-v3', { live: 0.3, shadow: 0.1 }, 0), undefined)
})

test('score: marks of flagged shadow-scored events without ground truth reach the judge with the scores they had', async () => {
  // phased events without their labels, enriched
  const generator = new PhasedGenerator({ seed: 5, users: 40 })
  const events = Array.from({ length: 1_500 }, () => {
    const { anomaly_label: _label, ...event } = generator.next(0)
    return event
  })
  const enriched = (await runProcessor(enrichProcessor(prefix), events)).outputs.map((o) =>
    decodeEnriched(o.value as Buffer),
  )
  const model = (version: string, from: number): LoadedModel => ({
    version,
    kind: 'transaction',
    forest: trainForest('transaction', enriched.slice(from, from + 500), { seed: 1, nTrees: 30 }).forest,
  })
  const live = model('v1', 0)
  const shadow = model('v2', 500)
  const joined: { version: string; live: number | undefined; shadow: number; label: 0 | 1 }[] = []
  const options = {
    topicPrefix: prefix,
    threshold: 0.99,
    checkpointEvents: 500,
    models: () => live,
    shadow: () => shadow,
    onShadowLabel: (_kind: string, version: string, liveScore: number | undefined, shadowScore: number, label: 0 | 1) =>
      joined.push({ version, live: liveScore, shadow: shadowScore, label }),
  }
  const records = enriched.map((event) => keyed(event.entity, event))
  const flagged = outputValues<ScoredEvent>(
    await runProcessor(scoreProcessor(options), records),
    topicName(prefix, 'anomalies'),
  )
  assert.ok(flagged.length >= 4, `${flagged.length} flagged`)
  assert.ok(flagged.every((event) => event.label === undefined))
  assert.deepEqual(joined, [], 'nothing joined without marks')

  // the first mark comes before its event (it waits), the others after theirs; one repeated
  const marks = flagged.slice(0, 4).map((event, i) => mark(event, i % 2 === 0 ? 0 : 1))
  const first = records.findIndex((record) => (record.value as { id: string }).id === flagged[0]!.id)
  const withMarks = [
    ...records.slice(0, first),
    asLabel(marks[0]!),
    ...records.slice(first),
    ...marks.slice(1).map(asLabel),
    asLabel(marks[1]!),
  ]
  await runProcessor(scoreProcessor(options), withMarks, new StateStore(), { batchSize: 250 })
  assert.deepEqual(
    joined,
    flagged.slice(0, 4).map((event, i) => ({
      version: 'v2',
      live: live.forest.score(Float64Array.from(enriched.find((e) => e.id === event.id)!.features)),
      shadow: event.shadow!.isolationForest,
      label: i % 2 === 0 ? 0 : 1,
    })),
  )
})

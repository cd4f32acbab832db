// The stream processors (enrich, score, alert, drift) without a broker: the in-memory harness
// runs them as the Kafka runtime does, batch by batch, with the partition's state store and
// its changelog. What the runtime adds (transactions, rebalances, dead letters on the topic)
// is tested against the broker in test/kafka/processor.kafka.test.ts.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeEnriched } from '../../src/core/pipeline/enriched-record.ts'
import type { ScoredEvent } from '../../src/core/pipeline/events.ts'
import type { LoadedModel } from '../../src/core/pipeline/scorer.ts'
import { ShadowJudges, type ShadowVerdict } from '../../src/core/pipeline/shadow.ts'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { trainForest } from '../../src/core/training.ts'
import { StateStore } from '../../src/kafka/state-store.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { alertProcessor } from '../../src/services/alert.ts'
import { driftProcessor } from '../../src/services/drift.ts'
import { enrichProcessor } from '../../src/services/enrich.ts'
import { scoreProcessor } from '../../src/services/score.ts'
import { outputValues, restoredStore, runProcessor } from '../helpers/processor.ts'

const prefix = 'unit.'

function phased(count: number, from = 0) {
  const generator = new PhasedGenerator({ seed: 3, users: 50 })
  if (from > 0) generator.fastForward(from)
  return Array.from({ length: count }, () => generator.next(0))
}

const events = phased(3_000)
const enriched = (await runProcessor(enrichProcessor(prefix), events)).outputs.map((output) => output.value as Buffer)

test('enrich: one enriched record per event, keyed by entity; batch boundaries change nothing', async () => {
  const whole = await runProcessor(enrichProcessor(prefix), events)
  assert.equal(whole.outputs.length, events.length)
  assert.ok(whole.outputs.every((output) => output.topic === topicName(prefix, 'enrichedFeatures')))
  assert.equal(whole.outputs[0]!.key, decodeEnriched(whole.outputs[0]!.value as Buffer).entity)
  const batched = await runProcessor(enrichProcessor(prefix), events, new StateStore(), { batchSize: 97 })
  assert.equal(batched.batches, Math.ceil(events.length / 97))
  assert.deepEqual(batched.outputs, whole.outputs)
})

test('enrich: restarted from its changelog, it continues every entity where it stopped', async () => {
  const whole = await runProcessor(enrichProcessor(prefix), events)
  const first = await runProcessor(enrichProcessor(prefix), events.slice(0, 1_700), new StateStore(), {
    batchSize: 500,
  })
  const rest = await runProcessor(enrichProcessor(prefix), events.slice(1_700), restoredStore(first.changelog))
  assert.deepEqual([...first.outputs, ...rest.outputs], whole.outputs)
})

test('enrich: a record that does not decode is a dead letter with its reason and offset; the rest flow', async () => {
  const bad = { ...events[10]!, timestamp: 'yesterday' }
  const records = [...events.slice(0, 10), 'not json', bad, ...events.slice(10, 100)]
  const result = await runProcessor(enrichProcessor(prefix), records)
  assert.deepEqual(
    result.deadLetters.map((letter) => letter.offset),
    [10n, 11n],
  )
  assert.ok(result.deadLetters.every((letter) => letter.reason.length > 0))
  assert.equal(result.deadLetters[1]!.value.toString(), JSON.stringify(bad))
  const clean = await runProcessor(enrichProcessor(prefix), events.slice(0, 100))
  assert.deepEqual(result.outputs, clean.outputs)
})

test('enrich: a number beyond ±2^53 anywhere in an event is a dead letter whose reason names its field', async () => {
  const nested = { ...events[3]!, extra: { readings: [1, 2, 1e300] } }
  const top = { ...events[4]!, amount: -(2 ** 60) }
  const result = await runProcessor(enrichProcessor(prefix), [events[0]!, nested, top, events[1]!])
  assert.deepEqual(
    result.deadLetters.map((letter) => letter.reason),
    [
      'field extra.readings.2 is out of range: 1e+300 (numbers must be within ±9007199254740991)',
      `field amount is out of range: ${-(2 ** 60)} (numbers must be within ±9007199254740991)`,
    ],
  )
  assert.equal(result.outputs.length, 2)
})

const scoreOptions = { topicPrefix: prefix, threshold: 0.99, checkpointEvents: 500, models: () => undefined }

test('score: every event is scored to anomaly-scores, those over the threshold also to anomalies', async () => {
  const result = await runProcessor(scoreProcessor(scoreOptions), enriched)
  const scores = outputValues<ScoredEvent>(result, topicName(prefix, 'anomalyScores'))
  const anomalies = outputValues<ScoredEvent>(result, topicName(prefix, 'anomalies'))
  assert.equal(scores.length, enriched.length)
  assert.ok(scores.every((scored) => scored.score >= 0 && scored.score <= 1))
  assert.deepEqual(
    anomalies,
    scores.filter((scored) => scored.score >= 0.99),
  )
})

test('score: the scorer is checkpointed to the store every checkpointEvents events', async () => {
  const result = await runProcessor(scoreProcessor(scoreOptions), enriched.slice(0, 2_000), new StateStore(), {
    batchSize: 250,
  })
  // batches of 250 with a checkpoint every 500 events: after batches 2, 4, 6 and 8
  const checkpoints = result.changelog.filter(([key]) => key === '__scorer__')
  assert.equal(checkpoints.length, 4)
  // one record per event kind beside the index, each under the broker's record limit
  assert.equal(result.changelog.filter(([key]) => key === '__scorer__/transaction').length, 4)
  assert.equal(result.changelog.length, 8, 'the score processor keeps nothing else in its store')
  const few = await runProcessor(scoreProcessor(scoreOptions), enriched.slice(0, 499), new StateStore(), {
    batchSize: 100,
  })
  assert.deepEqual(few.changelog, [])
})

test('score: restored from its checkpoint, a new instance scores exactly as the one that never stopped', async () => {
  const whole = await runProcessor(scoreProcessor(scoreOptions), enriched, new StateStore(), { batchSize: 500 })
  const first = await runProcessor(scoreProcessor(scoreOptions), enriched.slice(0, 1_500), new StateStore(), {
    batchSize: 500,
  })
  const rest = await runProcessor(scoreProcessor(scoreOptions), enriched.slice(1_500), restoredStore(first.changelog), {
    batchSize: 500,
  })
  assert.deepEqual([...first.outputs, ...rest.outputs], whole.outputs)
})

function model(version: string, from: number, seed: number): LoadedModel {
  const training = enriched.slice(from, from + 600).map((value) => decodeEnriched(value))
  return { version, kind: 'transaction', forest: trainForest('transaction', training, { seed, nTrees: 50 }).forest }
}

test('score: a shadow model scores beside the live one without changing its scores, and is judged', async () => {
  const live = model('v1', 0, 1)
  const shadow = model('v2', 600, 2)
  const verdicts: (ShadowVerdict & { version: string })[] = []
  // the score service's judges (src/services/score.ts, shadowVerdicts): one verdict per version
  const judges = new ShadowJudges({ minLabelled: 600 })
  const options = { ...scoreOptions, models: () => live }
  const withShadow = scoreProcessor({
    ...options,
    shadow: () => shadow,
    onShadowScore: (kind, version, liveScore, shadowScore, label) => {
      assert.equal(version, 'v2')
      assert.equal(typeof liveScore, 'number')
      const verdict = judges.observe(kind, version, { live: liveScore, shadow: shadowScore }, label)
      if (verdict) verdicts.push({ ...verdict, version })
    },
  })
  const scores = topicName(prefix, 'anomalyScores')
  const judged = outputValues<ScoredEvent>(
    await runProcessor(withShadow, enriched.slice(0, 1_200), new StateStore(), { batchSize: 300 }),
    scores,
  )
  const alone = outputValues<ScoredEvent>(
    await runProcessor(scoreProcessor(options), enriched.slice(0, 1_200), new StateStore(), { batchSize: 300 }),
    scores,
  )
  assert.equal(judged.length, alone.length)
  for (let i = 0; i < judged.length; i++) {
    const { shadow: beside, ...scored } = judged[i]!
    assert.deepEqual(scored, alone[i], 'the live score ignores the shadow')
    assert.equal(beside?.modelVersion, 'v2')
    const features = Float64Array.from(decodeEnriched(enriched[i]!).features)
    assert.equal(beside?.isolationForest, shadow.forest.score(features))
  }
  // the judge decides once, when it has seen minLabelled labelled events of both classes
  assert.equal(verdicts.length, 1)
  assert.equal(verdicts[0]!.labelled, 600)
  assert.match(verdicts[0]!.decision, /^(promote|reject)$/)
  assert.match(verdicts[0]!.reason, /^ROC-AUC on 600 labelled events/)
})

test('score: a shadow of the live version is not scored twice', async () => {
  const live = model('v1', 0, 1)
  let calls = 0
  const processor = scoreProcessor({
    ...scoreOptions,
    models: () => live,
    shadow: () => live,
    onShadowScore: () => {
      calls++
    },
  })
  const scored = outputValues<ScoredEvent>(await runProcessor(processor, enriched.slice(0, 200)))
  assert.equal(calls, 0)
  assert.ok(scored.every((event) => event.shadow === undefined && event.modelVersion === 'v1'))
})

function anomaly(entity: string, seconds: number, id = `${entity}-${seconds}`): ScoredEvent {
  return {
    kind: 'transaction',
    id,
    entity,
    eventTime: 1_700_000_000_000 + seconds * 1_000,
    producedAt: undefined,
    score: 0.995,
    scores: { isolation_forest: 0.995 },
    rules: [],
    contributions: [],
    modelVersion: null,
  }
}

const policy = { dedupWindowMs: 60_000, maxPerEntityPerHour: 3 }

test('alert: anomalies of one incident are de-duplicated, entities apart, and the rate limit counts the rest', async () => {
  const anomalies = [
    anomaly('a', 0),
    anomaly('b', 5),
    anomaly('a', 10), // within a's window: held back
    anomaly('a', 59),
    anomaly('a', 61), // 61 s after a's last alert: a new alert
    anomaly('b', 30),
    anomaly('a', 200),
    anomaly('a', 400), // a's 4th alert within the hour: rate-limited
    anomaly('a', 3_700), // an hour after its first alert
  ]
  const result = await runProcessor(alertProcessor(prefix, policy), anomalies)
  const alerts = outputValues<{ id: string; entity: string; suppressedBefore: number; severity: string }>(result)
  assert.ok(result.outputs.every((output) => output.topic === topicName(prefix, 'alerts')))
  assert.deepEqual(
    alerts.map((alert) => `${alert.id}:${alert.suppressedBefore}`),
    ['a-0:0', 'b-5:0', 'a-61:2', 'a-200:0', 'a-3700:1'],
  )
  assert.deepEqual(
    result.outputs.map((output) => output.key),
    ['a', 'b', 'a', 'a', 'a'],
  )
})

test('alert: the de-duplication state survives a restart from the changelog', async () => {
  const anomalies = Array.from({ length: 60 }, (_, i) => anomaly(i % 2 ? 'a' : 'b', i * 20))
  const whole = await runProcessor(alertProcessor(prefix, policy), anomalies)
  const first = await runProcessor(alertProcessor(prefix, policy), anomalies.slice(0, 25), new StateStore(), {
    batchSize: 7,
  })
  const rest = await runProcessor(alertProcessor(prefix, policy), anomalies.slice(25), restoredStore(first.changelog))
  assert.deepEqual([...first.outputs, ...rest.outputs], whole.outputs)
  assert.ok(whole.outputs.length < anomalies.length / 2, `${whole.outputs.length} alerts`)
})

test('alert: a record that makes process() throw is set aside; the others are alerted once', async () => {
  const alert = alertProcessor(prefix, policy)
  // a processor that fails on one event in the middle of a batch, after some of its work
  const failing: typeof alert = {
    ...alert,
    process(records, context) {
      const outputs = alert.process(records, context)
      if (records.some((record) => 'event' in record.value && record.value.event.id === 'poison'))
        throw new Error('cannot alert on poison')
      return outputs
    },
  }
  const anomalies = Array.from({ length: 40 }, (_, i) => anomaly(i % 3 ? 'a' : 'b', i * 40))
  const poisoned = [...anomalies.slice(0, 17), anomaly('a', 17 * 40 - 1, 'poison'), ...anomalies.slice(17)]
  const result = await runProcessor(failing, poisoned, new StateStore(), { batchSize: 10 })
  const clean = await runProcessor(alert, anomalies, new StateStore(), { batchSize: 10 })
  assert.deepEqual(
    result.deadLetters.map((letter) => [letter.offset, letter.reason]),
    [[17n, 'process() failed: cannot alert on poison']],
  )
  assert.equal(JSON.parse(result.deadLetters[0]!.value.toString()).id, 'poison')
  assert.deepEqual(result.outputs, clean.outputs)
  assert.deepEqual([...result.store.entries()], [...clean.store.entries()])
})

test('alert: a record without id, entity or score is a dead letter', async () => {
  const result = await runProcessor(alertProcessor(prefix, policy), [
    anomaly('a', 0),
    { ...anomaly('b', 0), score: 'high' },
  ])
  assert.equal(result.outputs.length, 1)
  assert.deepEqual(
    result.deadLetters.map((letter) => [letter.offset, letter.reason]),
    [[1n, 'a scored event needs string id and entity and a numeric score']],
  )
})

/** Phased transactions around the normal → drift change at event 100,000, as scored events. */
function scoredAroundDrift(): ScoredEvent[] {
  return phased(10_000, 95_000).map((event, i) => ({
    kind: 'transaction',
    id: event.transaction_id,
    entity: event.user_id,
    eventTime: Date.parse(event.timestamp),
    producedAt: undefined,
    // a scorer that flags exactly the labelled events, with a little noise below the threshold
    score: event.anomaly_label === 1 ? 0.995 : ((i * 7919) % 1000) / 1010,
    scores: {},
    rules: [],
    contributions: [],
    modelVersion: 'v1',
    label: event.anomaly_label,
    phase: event.phase,
    eventNumber: event.event_number,
    amount: event.amount,
  }))
}

test('drift: the phase change is one drift and one retraining request; the monitors survive a restart', async () => {
  const options = {
    topicPrefix: prefix,
    monitor: { threshold: 0.99, cooldownEvents: 20_000, trainWindowEvents: 2_000 },
  }
  const scored = scoredAroundDrift()
  const whole = await runProcessor(driftProcessor(options), scored, new StateStore(), { batchSize: 500, partition: 2 })
  const drifts = outputValues<{ kind: string; partition: number; eventNumber: number }>(
    whole,
    topicName(prefix, 'driftEvents'),
  )
  assert.equal(drifts.length, 1)
  assert.equal(drifts[0]!.kind, 'transaction')
  assert.equal(drifts[0]!.partition, 2)
  assert.ok(drifts[0]!.eventNumber >= 100_000 && drifts[0]!.eventNumber < 101_000, `drift at ${drifts[0]!.eventNumber}`)
  const triggers = outputValues<{ range: { fromEventNumber: number; toEventNumber: number } }>(
    whole,
    topicName(prefix, 'retrainingTriggers'),
  )
  assert.equal(triggers.length, 1)
  assert.deepEqual(triggers[0]!.range.fromEventNumber, drifts[0]!.eventNumber)
  assert.deepEqual(triggers[0]!.range.toEventNumber, drifts[0]!.eventNumber + 2_000)

  // stopped at event 99,000 (a batch boundary) and restarted from the changelog
  const first = await runProcessor(driftProcessor(options), scored.slice(0, 4_000), new StateStore(), {
    batchSize: 500,
    partition: 2,
  })
  const rest = await runProcessor(driftProcessor(options), scored.slice(4_000), restoredStore(first.changelog), {
    batchSize: 500,
    partition: 2,
  })
  const withoutTime = (result: typeof whole) =>
    outputValues<Record<string, unknown>>(result).map(({ requestedAt: _, ...value }) => value)
  assert.deepEqual([...withoutTime(first), ...withoutTime(rest)], withoutTime(whole))
})

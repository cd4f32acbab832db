// Analysts' marks flow back, end to end through the real broker: phased events without ground
// truth → enrich → score (a live model and a shadow beside it) → drift; true- and
// false-positive marks of flagged events on the labels topic then reach DDM (drift service) and
// the shadow judge (score service) as labelled events, and the judge decides on them.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { LabelRecord } from '../../src/core/feedback.ts'
import type { ScoredEvent } from '../../src/core/pipeline/events.ts'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { ModelRegistry, waitForLive } from '../../src/services/models.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { trainAndPublish } from '../../src/services/train.ts'
import { eventually, metric, send, sendMarks } from '../helpers/feedback.ts'
import { deleteTopicsWithPrefix, readTopic, testContext } from '../helpers/kafka.ts'
import { enrichedPhased, ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'

const context = testContext()
const dataDir = mkdtempSync(join(tmpdir(), 'lookout-feedback-'))
after(async () => {
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
})

const marks = 10

test('false-positive and true-positive marks reach DDM and the shadow judge as labelled events', async (t) => {
  await ensurePipelineTopics(context)
  const config = serviceConfig({
    'topics.prefix': context.topicPrefix,
    dataDir,
    // the judge decides on the analysts' marks alone: these events carry no ground truth
    'models.shadowMinLabelled': marks,
    'models.shadowPromoteAfterEvents': 0,
  })
  const registry = new ModelRegistry(context)
  await registry.start()
  const services: RunningService[] = []
  try {
    const live = await trainAndPublish(context, dataDir, registry, {
      kind: 'transaction',
      events: enrichedPhased(21, 4_000),
      source: 'test: phased seed 21',
      reason: 'bootstrap',
      live: true,
    })
    assert.ok(await waitForLive(registry, 'transaction', live.version.version))
    const shadow = await trainAndPublish(context, dataDir, registry, {
      kind: 'transaction',
      events: enrichedPhased(22, 4_000),
      source: 'test: phased seed 22',
      reason: 'candidate',
    })
    assert.equal(shadow.pointer, 'shadow')
    const shadowVersion = shadow.version.version
    await eventually(
      async () => registry.shadow.get('transaction')?.version,
      (v) => v === shadowVersion,
    )

    for (const name of ['enrich', 'score', 'drift'] as const) services.push(await startService(name, config, context))
    const [, score, drift] = services as [RunningService, RunningService, RunningService]

    // a stream without ground truth: the phased events with their labels taken out
    const generator = new PhasedGenerator({ seed: 23 })
    const events = Array.from({ length: 4_000 }, () => {
      const { anomaly_label: _label, ...event } = generator.next(Date.now() / 1000)
      return event
    })
    await send(
      context,
      'rawTransactions',
      events.map((event) => [event.user_id, JSON.stringify(event)]),
    )
    const scored = await readTopic(topicName(context.topicPrefix, 'anomalyScores'), {
      count: events.length,
      timeoutMs: 120_000,
    })
    assert.equal(scored.length, events.length, 'every event scored')
    const flagged = scored
      .map((record) => JSON.parse(record.value) as ScoredEvent)
      .filter((event) => event.score >= config['score.threshold'])
    assert.ok(flagged.length >= marks, `${flagged.length} flagged events to mark`)
    assert.ok(
      flagged.every((event) => event.label === undefined && event.shadow?.modelVersion === shadowVersion),
      'flagged without ground truth, scored in shadow too',
    )

    // every monitor has committed its state once the last scored events are through drift
    const driftLabels = async (source: string) => metric(drift.port, 'drift_ddm_labels', `source="${source}"`)
    const judgeLabels = async (source: string) =>
      metric(score.port, 'score_shadow_labelled_events', `source="${source}"`)
    await eventually(
      async () =>
        ((await (await fetch(`http://127.0.0.1:${drift.port}/health`)).json()) as { processed: number }).processed,
      (processed) => processed >= events.length,
    )
    const before = {
      ddm: { event: await driftLabels('event'), analyst: await driftLabels('analyst') },
      judge: { event: await judgeLabels('event'), analyst: await judgeLabels('analyst') },
    }
    assert.deepEqual(before, { ddm: { event: 0, analyst: 0 }, judge: { event: 0, analyst: 0 } })

    // an analyst marks ten flagged events: false positive and true positive in turn
    const marked: LabelRecord[] = flagged.slice(0, marks).map((event, i) => ({
      eventId: event.id,
      entity: event.entity,
      label: i % 2 === 0 ? 0 : 1,
      by: 'analyst@example.com',
      at: new Date().toISOString(),
      alertId: event.id,
    }))
    await sendMarks(context, marked)

    const joined = await eventually(
      async () => ({ ddm: await driftLabels('analyst'), judge: await judgeLabels('analyst') }),
      (counts) => counts.ddm >= marks && counts.judge >= marks,
    )
    const afterMarks = {
      ddm: { event: await driftLabels('event'), analyst: joined.ddm },
      judge: { event: await judgeLabels('event'), analyst: joined.judge },
    }
    t.diagnostic(
      `labelled events before the marks: ${JSON.stringify(before)}; after ${marks}: ${JSON.stringify(afterMarks)}`,
    )
    assert.deepEqual(afterMarks, { ddm: { event: 0, analyst: marks }, judge: { event: 0, analyst: marks } })

    // the judge decided on them: the shadow is promoted or dropped, and the promotion says why
    const decided = await eventually(
      async () => ({ live: registry.live.get('transaction'), shadow: registry.shadow.get('transaction') }),
      (pointers) => pointers.shadow === undefined,
    )
    assert.equal(decided.shadow, undefined, 'the shadow is decided')
    if (decided.live?.version === shadowVersion) {
      assert.match(
        decided.live.by,
        new RegExp(`ROC-AUC on ${marks} labelled events \\(${marks} labelled by analysts\\)`),
      )
      t.diagnostic(`verdict: ${decided.live.by}`)
    } else t.diagnostic(`verdict: ${shadowVersion} rejected, ${decided.live?.version} stays live`)

    // the same marks again change nothing: each event's first mark counts
    await sendMarks(context, marked)
    await new Promise((r) => setTimeout(r, 3_000))
    assert.equal(await driftLabels('analyst'), marks)
  } finally {
    for (const service of services.reverse()) await service.stop()
    await registry.stop()
  }
})

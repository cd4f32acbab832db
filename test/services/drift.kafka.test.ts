// The model lifecycle through the real broker: phased events around each phase transition of
// one cycle → enrich → score → drift → train → shadow → promotion (hot swap) → rollback.
//
// The generator's cycle is fixed (250,000 events), too long for a test on two cores, so the
// test produces the stretches around each transition of one cycle: events 95,000–105,000
// (normal → drift), 195,000–206,000 (drift → attack) and 245,000–255,000 (attack → normal),
// fast-forwarding the seeded generator in between, so every event is the one the full
// stream would carry.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { DriftMonitorState } from '../../src/core/drift/monitor.ts'
import type { ScoredEvent } from '../../src/core/pipeline/events.ts'
import { changelogTopic, topicName } from '../../src/kafka/topics.ts'
import type { DriftRecord, RetrainingTrigger } from '../../src/services/drift.ts'
import { ModelRegistry, publishRegistryRecords, rollbackRecords, waitForLive } from '../../src/services/models.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { trainAndPublish } from '../../src/services/train.ts'
import { deleteTopicsWithPrefix, readTopic, testContext } from '../helpers/kafka.ts'
import { enrichedPhased, ensurePipelineTopics, producePhased, serviceConfig } from '../helpers/pipeline.ts'

const context = testContext()
const dataDir = mkdtempSync(join(tmpdir(), 'lookout-drift-'))
after(async () => {
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
})

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

test('drift after each transition, a trigger, a new version hot-swapped without gap or duplicate, and rollback', async () => {
  const seed = 11
  await ensurePipelineTopics(context)
  const config = serviceConfig({
    'topics.prefix': context.topicPrefix,
    dataDir,
    // per partition (3): about 1,700 events of each 5,000-event stretch
    'drift.cooldownEvents': 2_000,
    'drift.trainWindowEvents': 800,
    'train.windowEvents': 4_000,
    // the shadow is promoted after 1,500 events (labels would take longer than the test has)
    'models.shadowMinLabelled': 10_000_000,
    'models.shadowPromoteAfterEvents': 1_500,
  })
  const registry = new ModelRegistry(context)
  await registry.start()
  const services: RunningService[] = []
  try {
    const first = await trainAndPublish(context, dataDir, registry, {
      kind: 'transaction',
      events: enrichedPhased(seed, 5_000),
      source: 'test: phased 0–5,000',
      reason: 'bootstrap',
      live: true,
    })
    assert.equal(first.pointer, 'live')
    const v1 = first.version.version
    assert.ok(await waitForLive(registry, 'transaction', v1))

    for (const name of ['enrich', 'score', 'drift', 'train'] as const)
      services.push(await startService(name, config, context))

    const stretches: [number, number, number][] = [
      [95_000, 105_000, 100_000],
      [195_000, 206_000, 200_000],
      [245_000, 255_000, 250_000],
    ]
    const produced: string[] = []
    const driftTopic = topicName(context.topicPrefix, 'driftEvents')
    for (const [index, [from, to, transition]] of stretches.entries()) {
      const events = await producePhased(context, seed, from, to)
      produced.push(...events.map((e) => e.transaction_id))
      const drift = await until(`a drift after event ${transition}`, async () => {
        const drifts = (await readTopic(driftTopic, { timeoutMs: 1_500 })).map(
          (r) => JSON.parse(r.value) as DriftRecord,
        )
        return drifts.find(
          (d) => d.eventNumber !== null && d.eventNumber >= transition && d.eventNumber < transition + 1_000,
        )
      })
      assert.ok(drift.eventNumber! - transition < 1_000, `${drift.detector} on ${drift.signal} at ${drift.eventNumber}`)
      assert.equal(drift.kind, 'transaction')

      if (index === 0) {
        // the drift state lives in the changelog: a restarted drift service carries on
        const driftService = services.find((s) => s.name === 'drift')!
        await driftService.stop()
        services.splice(
          services.indexOf(driftService),
          1,
          await startService('drift', config, context, { instanceIds: ['restarted'] }),
        )
        // a trigger, a new version in shadow, promoted after 1,500 shadow-scored events
        const trigger = await until('a retraining trigger', async () => {
          const records = await readTopic(topicName(context.topicPrefix, 'retrainingTriggers'), { timeoutMs: 1_500 })
          return records.length ? (JSON.parse(records[0]!.value) as RetrainingTrigger) : undefined
        })
        assert.ok(trigger.range.fromEventTime <= trigger.range.toEventTime)
        assert.ok((trigger.range.fromEventNumber ?? 0) >= transition, JSON.stringify(trigger))
        const v2 = await until('a second version', () =>
          [...registry.versions.values()].find((v) => v.parent === v1 && v.trainedOn.source === 'enriched-features'),
        )
        assert.equal(v2.kind, 'transaction')
        assert.ok(v2.trainedOn.rows > 100 && typeof v2.metrics.rocAuc === 'number')
      }
    }
    const live = await until('a promoted retrained version', () => {
      const pointer = registry.live.get('transaction')
      return pointer && pointer.version !== v1 ? pointer : undefined
    })
    assert.ok(live.history?.includes(v1))

    // rollback puts the previous version back (and drops any shadow); events scored afterwards name it
    const trainService = services.find((s) => s.name === 'train')!
    await trainService.stop()
    services.splice(services.indexOf(trainService), 1)
    const current = registry.live.get('transaction')!
    const previous = current.history![0]!
    await publishRegistryRecords(context, rollbackRecords(registry, 'transaction', 'test'))
    assert.ok(await waitForLive(registry, 'transaction', previous))
    await until('the shadow dropped', () => (registry.shadow.has('transaction') ? undefined : true))
    const tail = await producePhased(context, seed, 255_000, 256_000)
    produced.push(...tail.map((e) => e.transaction_id))

    const scores = (
      await readTopic(topicName(context.topicPrefix, 'anomalyScores'), { count: produced.length, timeoutMs: 60_000 })
    ).map((r) => ({ ...r, event: JSON.parse(r.value) as ScoredEvent }))
    const ids = scores.map((s) => s.event.id)
    assert.equal(new Set(ids).size, ids.length, 'no transaction scored twice')
    assert.deepEqual(new Set(ids), new Set(produced), 'every transaction scored')
    const versions = new Set(scores.map((s) => s.event.modelVersion))
    // a later retrain may be promoted before events reach it, so any retrained version counts
    assert.ok(
      versions.has(v1) && [...versions].some((version) => version !== v1 && version !== null),
      `versions seen: ${[...versions].join(', ')}`,
    )
    assert.ok(
      scores.some((s) => s.event.shadow !== undefined),
      'shadow scores recorded beside the live score',
    )
    // per partition, in offset order: the versions change at batch boundaries and never interleave
    for (let partition = 0; partition < 3; partition++) {
      const order = scores
        .filter((s) => s.partition === partition)
        .sort((a, b) => (a.offset < b.offset ? -1 : 1))
        .map((s) => s.event.modelVersion)
      const runs = order.filter((v, i) => i === 0 || v !== order[i - 1])
      assert.equal(new Set(runs.slice(0, -1)).size, runs.length - 1, `partition ${partition}: ${runs.join(' → ')}`)
    }
    // the monitors' state survived the restart: together they have seen every scored event
    const changelog = changelogTopic(context.topicPrefix, 'lookout-drift', 'state')
    await until('the drift monitors to see every event', async () => {
      const latest = new Map<number, DriftMonitorState>()
      for (const record of await readTopic(changelog, { timeoutMs: 1_500 }))
        if (record.key === 'monitor:transaction') latest.set(record.partition, JSON.parse(record.value))
      const seen = [...latest.values()].reduce((sum, state) => sum + state.seen, 0)
      return seen === produced.length ? true : undefined
    })
    const afterRollback = new Set(tail.map((e) => e.transaction_id))
    const tailVersions = new Set(scores.filter((s) => afterRollback.has(s.event.id)).map((s) => s.event.modelVersion))
    assert.deepEqual([...tailVersions], [previous])
  } finally {
    for (const service of services.reverse()) await service.stop()
    await registry.stop()
  }
})

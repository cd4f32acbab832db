// A service added as one file plus one list line (test/services/fixtures/count-service.ts),
// started by the generic runner on the real broker and watched over HTTP.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import type { Config } from '../../src/config/settings.ts'
import type { KafkaContext } from '../../src/kafka/context.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { deleteTopicsWithPrefix, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'
import { countControl, testServices } from './fixtures/count-service.ts'

const context = testContext()
after(() => deleteTopicsWithPrefix(context.topicPrefix))

async function produce(kafka: KafkaContext, keys: string[]): Promise<void> {
  const producer = createProducer(kafka, { name: 'count-test' })
  try {
    const topic = topicName(kafka.topicPrefix, 'rawTransactions')
    await producer.send({
      messages: keys.map((key, i) => ({ topic, key: Buffer.from(key), value: Buffer.from(`{"n":${i}}`) })),
    })
  } finally {
    await producer.close()
  }
}

async function health(running: RunningService): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${running.port}/health`)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let value = await read()
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    value = await read()
  }
  return value
}

test('a test-only service runs through the generic runner: records once, /health, /metrics, a stall as 503', async () => {
  await ensurePipelineTopics(context)
  const config = { ...serviceConfig({ 'topics.prefix': context.topicPrefix }), 'count.port': 0 } as Config
  const running = await startService('count', config, context, { instances: 2, definitions: testServices })
  const url = `http://127.0.0.1:${running.port}`
  try {
    assert.equal(running.name, 'count')
    assert.equal(running.runtimes.length, 2)

    const keys = ['user_1', 'user_2', 'user_3']
    await produce(
      context,
      Array.from({ length: 30 }, (_, i) => keys[i % keys.length]!),
    )
    await waitFor(
      () => health(running),
      ({ body }) => (body.processed as number) >= 30,
    )
    await new Promise((resolve) => setTimeout(resolve, 500))
    const counts = keys.map((key) => running.runtimes.map((runtime) => runtime.stateOf<number>(key)))
    const { status, body } = await health(running)
    assert.equal(status, 200)
    assert.equal(body.service, 'count')
    assert.equal(body.ok, true)
    assert.equal(body.instances, 2)
    assert.equal(body.processed, 30, `every record processed once (counts per instance: ${JSON.stringify(counts)})`)
    for (const perInstance of counts)
      assert.deepEqual(
        perInstance.filter((n) => n !== undefined),
        [10],
        'each key counted in one instance',
      )

    const metrics = await (await fetch(`${url}/metrics`)).text()
    const recorded = [...metrics.matchAll(/^processor_records_total\{([^}]*)\} (\d+)$/gm)]
    assert.ok(recorded.length > 0, 'processor metrics on /metrics')
    for (const [, labels] of recorded)
      assert.match(labels!, /processor="count".*service="count"|service="count".*processor="count"/)
    assert.equal(
      recorded.reduce((sum, [, , value]) => sum + Number(value), 0),
      30,
    )

    // a dependency goes down: the runtime that owns the next record cannot make progress
    countControl.unavailable = true
    await produce(context, ['user_1'])
    const stalled = await waitFor(
      () => health(running),
      ({ status }) => status === 503,
    )
    assert.equal(stalled.status, 503)
    assert.equal(stalled.body.ok, false)
    assert.match(
      String(stalled.body.reason),
      /no progress: \d+ failed attempts in a row.*the counting dependency is unavailable/,
    )
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^processor_stalled\{[^}]*processor="count"[^}]*\} 1$/m)

    // and comes back: the record is processed once and /health is ok again
    countControl.unavailable = false
    const recovered = await waitFor(
      () => health(running),
      ({ status, body }) => status === 200 && body.processed === 31,
    )
    assert.equal(recovered.status, 200)
    assert.equal(recovered.body.processed, 31)
  } finally {
    countControl.unavailable = false
    await running.stop()
  }
  await assert.rejects(fetch(`${url}/health`), 'the HTTP server is closed on stop')
})

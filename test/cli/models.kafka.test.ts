// `lookout train` (from a file and from a topic range) and `lookout models list|show|promote|rollback`
// as a user runs them, against the real broker.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { entityKeyOf } from '../../src/core/features/index.ts'
import { enrich } from '../../src/core/pipeline/events.ts'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { cleanEnv, runCli } from '../helpers/cli.ts'
import { deleteTopicsWithPrefix, testBrokers, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics } from '../helpers/pipeline.ts'

const context = testContext()
const dataDir = mkdtempSync(join(tmpdir(), 'lookout-models-'))
after(async () => {
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
})

const lookout = async (...args: string[]) => {
  const result = await runCli(
    [...args, '--brokers', testBrokers().join(','), '--topics-prefix', context.topicPrefix, '--data-dir', dataDir],
    { env: cleanEnv({ LOOKOUT_LOG_LEVEL: 'warn' }) },
  )
  assert.equal(result.code, 0, `lookout ${args.join(' ')}\n${result.stdout}\n${result.stderr}`)
  return result.stdout
}

test('train from a file and from a topic range, then list, show, promote and roll back', async () => {
  await ensurePipelineTopics(context)
  const generator = new PhasedGenerator({ seed: 5 })
  const events = Array.from({ length: 3_000 }, () => generator.next(0))
  const file = join(dataDir, 'events.jsonl')
  writeFileSync(file, events.map((event) => JSON.stringify(event)).join('\n'))

  const first = await lookout('train', '--input', file)
  assert.match(first, /^transaction-v1 \(live\): trained on 2400 events/)

  // enriched-features as the enrich service would have written them
  const state = new Map<string, unknown>()
  const producer = createProducer(context, { name: 'test-enriched' })
  await producer.send({
    messages: Array.from({ length: 3_000 }, () => {
      const event = generator.next(0)
      const entity = entityKeyOf(event)
      const { enriched, nextState } = enrich(event, state.get(entity))
      state.set(entity, nextState)
      return {
        topic: topicName(context.topicPrefix, 'enrichedFeatures'),
        key: Buffer.from(entity),
        value: Buffer.from(JSON.stringify(enriched)),
      }
    }),
  })
  await producer.close()
  const second = await lookout('train', '--from', '0', '--to', '500')
  assert.match(second, /^transaction-v2 \(shadow\): trained on \d+ events.*transaction-v1 on the same data/)

  const list = await lookout('models', 'list')
  assert.match(list, /transaction-v1\s+live/)
  assert.match(list, /transaction-v2\s+shadow\s+transaction-v1/)
  const shown = JSON.parse(await lookout('models', 'show', 'transaction-v2'))
  assert.equal(shown.parent, 'transaction-v1')
  assert.equal(shown.state, 'shadow')
  assert.deepEqual([shown.trainedOn.from, shown.trainedOn.to], ['0', '500'])
  assert.equal(shown.artifact.format, 'isolation-forest/1')

  assert.match(await lookout('models', 'promote', 'transaction-v2'), /transaction-v2 is live/)
  assert.match(await lookout('models', 'list'), /transaction-v2\s+live/)
  assert.match(await lookout('models', 'rollback'), /rolled back: transaction-v1 is live/)
  const after = await lookout('models', 'list')
  assert.match(after, /transaction-v1\s+live/)
  assert.match(after, /transaction-v2\s+-/)
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { catalogueTopics, connectAdmin, describeTopics, ensureTopics } from '../../src/kafka/admin.ts'
import { deleteTopics, testContext } from '../helpers/kafka.ts'

test('ensureTopics creates every catalogue topic once; a second run creates nothing', async (t) => {
  const context = testContext({ partitions: 2 })
  const admin = await connectAdmin(context)
  const wanted = catalogueTopics(context)
  t.after(async () => {
    await admin.close()
    await deleteTopics(wanted.map((topic) => topic.name))
  })
  const first = await ensureTopics(admin, wanted)
  assert.deepEqual(first.sort(), wanted.map((topic) => topic.name).sort())
  const second = await ensureTopics(admin, wanted)
  assert.deepEqual(second, [])

  const described = await describeTopics(admin, (name) => name.startsWith(context.topicPrefix))
  assert.equal(described.length, wanted.length)
  for (const topic of described) {
    assert.equal(topic.partitions, 2)
    assert.deepEqual(topic.endOffsets, [0n, 0n])
  }
  const configs = await admin.describeConfigs({
    resources: [
      { resourceType: 2, resourceName: `${context.topicPrefix}model-versions`, configurationKeys: ['cleanup.policy'] },
    ],
  })
  assert.equal(configs[0]?.configs.find((c) => c.name === 'cleanup.policy')?.value, 'compact')
})

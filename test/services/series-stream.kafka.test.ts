// Offline equals stream for the series detector: NAB files replayed as `metric` events through
// the broker (enrich → score, three partitions, one host per file) get, on every event, the
// same series score as `lookout score` gives each file.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'
import { entityKeyOf } from '../../src/core/features/index.ts'
import { parseMetricSeries, parseTimestamp } from '../../src/core/sources/metrics.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { scoreFile } from '../../src/offline/offline.ts'
import { startService } from '../../src/services/run.ts'
import { deleteTopicsWithPrefix, readTopic, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'

const root = resolve(import.meta.dirname, '../..')
/** The shared NAB data: beside the repository, or where LOOKOUT_SHARED_DATA points. */
const nab = [process.env.LOOKOUT_SHARED_DATA, resolve(root, '../shared/data'), '/work/shared/data']
  .filter((path): path is string => path !== undefined)
  .map((path) => join(path, 'nab-dev/data'))
  .find((path) => existsSync(path))
const files = ['realAdExchange/exchange-2_cpc_results.csv', 'realTraffic/speed_7578.csv']

const context = testContext()
const directory = mkdtempSync(join(tmpdir(), 'lookout-series-'))
after(async () => {
  rmSync(directory, { recursive: true, force: true })
  await deleteTopicsWithPrefix(context.topicPrefix)
})

test('NAB series replayed as metric events through the broker score exactly as lookout score scores the files', {
  skip: nab ? false : 'the NAB data (../shared/data/nab-dev) is not on this machine',
}, async () => {
  await ensurePipelineTopics(context)
  const config = serviceConfig({ 'topics.prefix': context.topicPrefix })
  // scores by entity and event time, in file order (a file may repeat a timestamp)
  const offline = new Map<string, number[]>()
  const producer = createProducer(context, { name: 'test-source' })
  const topic = topicName(context.topicPrefix, 'rawTransactions')
  let count = 0
  try {
    for (const [index, file] of files.entries()) {
      const host = `nab-${index}`
      const input = join(nab!, file)
      const output = join(directory, `${index}.csv`)
      await scoreFile({ input, output, partitions: context.partitions, threshold: 0.999 })
      const scored = readFileSync(output, 'utf8').trim().split('\n').slice(1)
      const { samples, errors } = parseMetricSeries(readFileSync(input, 'utf8'), { host })
      assert.deepEqual(errors, [])
      assert.equal(samples.length, scored.length)
      samples.forEach((sample, row) => {
        const key = `${entityKeyOf(sample)}|${parseTimestamp(sample.timestamp)}`
        offline.set(key, [...(offline.get(key) ?? []), Number(scored[row]!.split(',')[2])])
      })
      for (let from = 0; from < samples.length; from += 500) {
        const messages = samples.slice(from, from + 500).map((sample) => ({
          topic,
          key: Buffer.from(host),
          value: Buffer.from(JSON.stringify(sample)),
        }))
        await producer.send({ messages })
      }
      count += samples.length
    }
  } finally {
    await producer.close()
  }
  assert.ok(
    [...offline.values()].flat().some((score) => score > 0.999),
    'the files hold alarms, so equality is not trivial',
  )

  const services = []
  try {
    for (const name of ['enrich', 'score'] as const) services.push(await startService(name, config, context))
    const records = await readTopic(topicName(context.topicPrefix, 'anomalyScores'), { count, timeoutMs: 120_000 })
    assert.equal(records.length, count)
    let compared = 0
    for (const record of records) {
      const scored = JSON.parse(record.value)
      const key = `${scored.entity}|${scored.eventTime}`
      // records of one entity arrive in the order they were produced: file order
      const expected = offline.get(key)?.shift()
      assert.ok(expected !== undefined, `no offline row for ${key}`)
      assert.equal(scored.entityScore, expected, `${key}: stream ${scored.entityScore}, file ${expected}`)
      compared++
    }
    assert.equal(compared, count)
  } finally {
    for (const service of services.reverse()) await service.stop()
  }
})

// Offline scoring of a file equals the streaming pipeline's scores for the same events
// (enrich → score through the real broker, three partitions).
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { topicName } from '../../src/kafka/topics.ts'
import { scoreFile } from '../../src/offline/offline.ts'
import { startService } from '../../src/services/run.ts'
import { deleteTopicsWithPrefix, readTopic, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, producePhased, serviceConfig } from '../helpers/pipeline.ts'

const context = testContext()
const directory = mkdtempSync(join(tmpdir(), 'lookout-offline-'))
after(async () => {
  rmSync(directory, { recursive: true, force: true })
  await deleteTopicsWithPrefix(context.topicPrefix)
})

test('offline scoring of the produced events equals the scores of the streaming pipeline', async () => {
  await ensurePipelineTopics(context)
  const config = serviceConfig({ 'topics.prefix': context.topicPrefix })
  const services = []
  let events: Awaited<ReturnType<typeof producePhased>>
  let streamed: Map<string, { score: number; scores: Record<string, number> }>
  try {
    for (const name of ['enrich', 'score'] as const) services.push(await startService(name, config, context))
    // 200 users, so that per-user state grows long; a normal → drift phase change in the middle
    events = [
      ...(await producePhased(context, 11, 0, 3_000, 200)),
      ...(await producePhased(context, 11, 99_000, 102_000, 200)),
    ]
    const records = await readTopic(topicName(context.topicPrefix, 'anomalyScores'), {
      count: events.length,
      timeoutMs: 120_000,
    })
    assert.equal(records.length, events.length)
    streamed = new Map(
      records.map((record) => {
        const scored = JSON.parse(record.value)
        return [scored.id as string, { score: scored.score as number, scores: scored.scores }]
      }),
    )
  } finally {
    for (const service of services.reverse()) await service.stop()
  }

  const input = join(directory, 'events.jsonl')
  writeFileSync(input, `${events.map((event) => JSON.stringify(event)).join('\n')}\n`)
  const output = join(directory, 'scored.jsonl')
  const summary = await scoreFile({
    input,
    output,
    partitions: context.partitions,
    details: true,
    threshold: config['score.threshold'],
  })
  assert.equal(summary.scored, events.length)
  const offline = readFileSync(output, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  assert.equal(offline.length, events.length)

  let differing = 0
  let firstDifference = ''
  let positive = 0
  for (const row of offline) {
    const stream = streamed.get(row.transaction_id)
    assert.ok(stream, `transaction ${row.transaction_id} was scored by the stream`)
    if (row.anomaly_score > 0) positive++
    const same =
      Math.abs(row.anomaly_score - stream.score) <= 1e-12 &&
      Object.keys(stream.scores).every(
        (name) => Math.abs(row.anomaly_details.scores[name] - stream.scores[name]!) <= 1e-12,
      )
    if (!same) {
      differing++
      firstDifference ||= `${row.transaction_id}: offline ${row.anomaly_score} ${JSON.stringify(row.anomaly_details.scores)}, stream ${stream.score} ${JSON.stringify(stream.scores)}`
    }
  }
  assert.ok(positive > events.length / 2, 'the scores are not trivially zero')
  assert.equal(differing, 0, `${differing} of ${events.length} scores differ; first: ${firstDifference}`)
})

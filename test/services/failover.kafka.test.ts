// Three enrich and three score processes share six partitions; one of each is killed with
// SIGKILL mid-stream. Afterwards every transaction is scored exactly once and no user's
// features were reset: the survivors restored the state from the changelogs.

import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { after, test } from 'node:test'
import { kindOf } from '../../src/core/kinds.ts'
import { decodeEnriched } from '../../src/core/pipeline/enriched-record.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { root } from '../helpers/cli.ts'
import { deleteTopicsWithPrefix, readTopic, testBrokers, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, producePhased } from '../helpers/pipeline.ts'

const context = testContext({ partitions: 6 })
const children: ChildProcess[] = []
after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  await deleteTopicsWithPrefix(context.topicPrefix)
})

function startProcess(service: 'enrich' | 'score', index: number): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      resolve(root, 'src/cli/main.ts'),
      'run',
      service,
      '--brokers',
      testBrokers().join(','),
      '--topics-prefix',
      context.topicPrefix,
      '--topics-partitions',
      '6',
      `--${service}-port`,
      '0',
      '--processor-max-batch',
      '200',
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  child.stderr?.on('data', (chunk: Buffer) => {
    if (process.env.TEST_VERBOSE) process.stderr.write(`[${service}-${index}] ${chunk}`)
  })
  children.push(child)
  return child
}

async function waitForLog(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in time:\n${text.slice(-2000)}`)), timeoutMs)
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk
      if (pattern.test(text)) {
        clearTimeout(timer)
        resolvePromise()
      }
    })
  })
}

test('a SIGKILLed enrich and score instance lose and duplicate nothing, and state is restored', async () => {
  await ensurePipelineTopics(context)
  const enrich = [0, 1, 2].map((i) => startProcess('enrich', i))
  const score = [0, 1, 2].map((i) => startProcess('score', i))
  await Promise.all([...enrich, ...score].map((child) => waitForLog(child, /running/)))

  const events = await producePhased(context, 11, 0, 3_000, 60)
  // let the group process part of it, then kill one of each mid-stream
  await readTopic(topicName(context.topicPrefix, 'anomalyScores'), { count: 1_000, timeoutMs: 60_000 })
  enrich[1]!.kill('SIGKILL')
  score[2]!.kill('SIGKILL')
  events.push(...(await producePhased(context, 11, 3_000, 6_000, 60)))

  const scores = await readTopic(topicName(context.topicPrefix, 'anomalyScores'), {
    count: events.length,
    timeoutMs: 120_000,
  })
  const ids = scores.map((record) => JSON.parse(record.value).id as string)
  assert.equal(ids.length, events.length, 'every transaction scored')
  assert.equal(new Set(ids).size, events.length, 'no transaction scored twice')

  // per-user features: the user's event count runs 1..n without a reset
  const enriched = await readTopic(topicName(context.topicPrefix, 'enrichedFeatures'), {
    count: events.length,
    timeoutMs: 30_000,
  })
  assert.equal(enriched.length, events.length)
  const countIndex = kindOf('transaction').schema.featureNames.indexOf('user_event_count')
  const byUser = new Map<string, { n: number; count: number }[]>()
  for (const record of enriched) {
    const value = decodeEnriched(record.bytes) as {
      entity: string
      features: number[]
      event: { event_number: number }
    }
    const list = byUser.get(value.entity) ?? []
    list.push({ n: value.event.event_number, count: value.features[countIndex]! })
    byUser.set(value.entity, list)
  }
  for (const [user, list] of byUser) {
    list.sort((a, b) => a.n - b.n)
    assert.deepEqual(
      list.map((entry) => entry.count),
      list.map((_, i) => i + 1),
      `${user}'s event count continues across the failover`,
    )
  }
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
})

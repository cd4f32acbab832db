// Helpers of the analyst-feedback tests: records sent with a plain producer, marks, metrics.
import { encodeLabel, type LabelRecord } from '../../src/core/feedback.ts'
import type { ScoredEvent } from '../../src/core/pipeline/events.ts'
import type { KafkaContext } from '../../src/kafka/context.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { type TopicKey, topicName } from '../../src/kafka/topics.ts'

export function anomalyOf(entity: string, id: string, eventTime = Date.now()): ScoredEvent {
  return {
    kind: 'transaction',
    id,
    entity,
    eventTime,
    producedAt: undefined,
    score: 0.9995,
    scores: { isolation_forest: 0.9995 },
    rules: [],
    contributions: [],
    modelVersion: null,
  }
}

/** Sends records keyed by entity to a topic of the context, with a plain idempotent producer. */
export async function send(into: KafkaContext, topic: TopicKey, records: [string, string][]) {
  const producer = createProducer(into, { name: 'test-feedback' })
  try {
    await producer.send({
      messages: records.map(([key, value]) => ({
        topic: topicName(into.topicPrefix, topic),
        key: Buffer.from(key),
        value: Buffer.from(value),
      })),
    })
  } finally {
    await producer.close()
  }
}

export function falsePositive(entity: string, eventId: string, label: 0 | 1 = 0): LabelRecord {
  return { eventId, entity, label, by: 'analyst@example.com', at: new Date().toISOString(), alertId: eventId }
}

export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** The sum of a metric's samples on a service's /metrics (NaN when it has none). */
export async function metric(port: number, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
  return lines.length ? lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0) : Number.NaN
}

/** Sends analysts' marks to the labels topic, keyed by entity. */
export function sendMarks(into: KafkaContext, marks: LabelRecord[]): Promise<void> {
  return send(
    into,
    'labels',
    marks.map((mark) => [mark.entity, encodeLabel(mark)]),
  )
}

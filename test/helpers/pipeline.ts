import { createServer, type IncomingMessage, type Server } from 'node:http'
import { loadConfig } from '../../src/config/load.ts'
import type { Config, SettingKey } from '../../src/config/settings.ts'
import { entityKeyOf } from '../../src/core/features/index.ts'
import { type EnrichedEvent, enrich } from '../../src/core/pipeline/events.ts'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { catalogueTopics, connectAdmin, ensureTopics } from '../../src/kafka/admin.ts'
import type { KafkaContext } from '../../src/kafka/context.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'

/** Config for services under test: any free ports, no console sink unless asked. */
export function serviceConfig(flags: Partial<Record<SettingKey, unknown>> = {}): Config {
  return loadConfig({
    env: {},
    flags: {
      'enrich.port': 0,
      'score.port': 0,
      'alert.port': 0,
      'drift.port': 0,
      'train.port': 0,
      'alert.console': 'false',
      ...flags,
    },
  })
}

export async function ensurePipelineTopics(context: KafkaContext): Promise<void> {
  const admin = await connectAdmin(context)
  try {
    await ensureTopics(admin, catalogueTopics(context))
  } finally {
    await admin.close()
  }
}

/** Produces phased events [from, to) of `seed` to raw-transactions, keyed by user. */
export async function producePhased(context: KafkaContext, seed: number, from: number, to: number, users?: number) {
  const generator = new PhasedGenerator({ seed, ...(users ? { users } : {}) })
  if (from > 0) generator.fastForward(from)
  const producer = createProducer(context, { name: 'test-source' })
  const topic = topicName(context.topicPrefix, 'rawTransactions')
  const events = []
  try {
    for (let n = from; n < to; n += 1000) {
      const messages = []
      for (let i = n; i < Math.min(to, n + 1000); i++) {
        const event = generator.next(Date.now() / 1000)
        events.push(event)
        messages.push({ topic, key: Buffer.from(event.user_id), value: Buffer.from(JSON.stringify(event)) })
      }
      await producer.send({ messages })
    }
  } finally {
    await producer.close()
  }
  return events
}

export interface Received {
  path: string
  headers: IncomingMessage['headers']
  body: unknown
  at: number
}

/** A real HTTP server that records requests and answers with `respond` (default 200). */
export async function recordingServer(
  respond: (
    request: Received,
    index: number,
  ) => { status: number; headers?: Record<string, string>; body?: string } = () => ({
    status: 200,
  }),
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = []
  const server = createServer((request, response) => {
    let text = ''
    request.on('data', (chunk) => {
      text += chunk
    })
    request.on('end', () => {
      const entry = {
        path: request.url ?? '/',
        headers: request.headers,
        body: text ? JSON.parse(text) : undefined,
        at: Date.now(),
      }
      const answer = respond(entry, received.length)
      received.push(entry)
      response.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return { url: `http://127.0.0.1:${port}`, received, server }
}

/** The first `count` phased events of `seed`, enriched in order as the enrich service would. */
export function enrichedPhased(seed: number, count: number): EnrichedEvent[] {
  const generator = new PhasedGenerator({ seed })
  const state = new Map<string, unknown>()
  return Array.from({ length: count }, () => {
    const event = generator.next(0)
    const entity = entityKeyOf(event)
    const { enriched, nextState } = enrich(event, state.get(entity))
    state.set(entity, nextState)
    return enriched
  })
}

import { randomUUID } from 'node:crypto'
import { Admin } from '@platformatic/kafka'
import type { KafkaContext } from '../../src/kafka/context.ts'
import { dropAbortedRecords } from '../../src/kafka/read-committed.ts'

/** The broker started by scripts/test.ts. */
export function testBrokers(): string[] {
  const brokers = process.env.TEST_KAFKA_BROKERS
  if (!brokers)
    throw new Error('TEST_KAFKA_BROKERS is not set: run the tests with `npm test` (it starts a real broker)')
  return brokers.split(',')
}

/** A topic name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

export function testContext(overrides: Partial<KafkaContext> = {}): KafkaContext {
  return {
    brokers: testBrokers(),
    clientId: 'lookout-test',
    retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 },
    topicPrefix: `${uniqueName('t')}.`,
    partitions: 3,
    replicationFactor: 1,
    ...overrides,
  }
}

export async function createTopic(
  name: string,
  partitions = 3,
  configs: { name: string; value: string }[] = [],
): Promise<void> {
  const admin = new Admin({ clientId: 'lookout-test-admin', bootstrapBrokers: testBrokers() })
  try {
    await admin.createTopics({ topics: [name], partitions, replicas: 1, configs })
    for (let i = 0; i < 100; i++) {
      const metadata = await admin.metadata({ topics: [name], forceUpdate: true })
      if (metadata.topics.get(name)?.partitions.every((p) => p.leader >= 0)) return
      await new Promise((r) => setTimeout(r, 100))
    }
  } finally {
    await admin.close()
  }
}

export async function deleteTopics(names: string[]): Promise<void> {
  const admin = new Admin({ clientId: 'lookout-test-admin', bootstrapBrokers: testBrokers() })
  try {
    const existing = new Set(await admin.listTopics())
    const present = names.filter((name) => existing.has(name))
    if (present.length) await admin.deleteTopics({ topics: present })
  } finally {
    await admin.close()
  }
}

export interface ReadRecord {
  key: string
  value: string
  /** The value's bytes (a binary record, such as an enriched one, is not text). */
  bytes: Buffer
  partition: number
  offset: bigint
  headers: Map<string, string>
}

/**
 * Reads `topic` from the beginning until `count` records arrived or `timeoutMs` passed,
 * with a fresh group. `readCommitted` hides aborted and open transactions.
 */
export async function readTopic(
  topic: string,
  options: { count?: number; timeoutMs?: number; readCommitted?: boolean } = {},
): Promise<ReadRecord[]> {
  const { Consumer, FetchIsolationLevels, stringDeserializers } = await import('@platformatic/kafka')
  const consumer = dropAbortedRecords(
    new Consumer({
      clientId: 'lookout-test-reader',
      groupId: uniqueName('reader'),
      bootstrapBrokers: testBrokers(),
      deserializers: { ...stringDeserializers, value: (value?: Buffer) => value ?? Buffer.alloc(0) },
      isolationLevel:
        options.readCommitted === false ? FetchIsolationLevels.READ_UNCOMMITTED : FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: 200,
    }),
  )
  const records: ReadRecord[] = []
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  const timeout = setTimeout(() => void stream.close(), options.timeoutMs ?? 10_000)
  try {
    for await (const message of stream) {
      records.push({
        key: message.key,
        value: message.value.toString(),
        bytes: message.value,
        partition: message.partition,
        offset: message.offset,
        headers: new Map(message.headers),
      })
      if (options.count !== undefined && records.length >= options.count) break
    }
  } finally {
    clearTimeout(timeout)
    await stream.close().catch(() => {})
    await consumer.close(true).catch(() => {})
  }
  return records
}

/** Deletes every topic whose name starts with `prefix` (a test's own topics). */
export async function deleteTopicsWithPrefix(prefix: string): Promise<void> {
  const admin = new Admin({ clientId: 'lookout-test-admin', bootstrapBrokers: testBrokers() })
  try {
    const mine = (await admin.listTopics()).filter((name) => name.startsWith(prefix))
    if (mine.length) await admin.deleteTopics({ topics: mine })
  } finally {
    await admin.close()
  }
}

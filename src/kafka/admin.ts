import { setTimeout as sleep } from 'node:timers/promises'
import { Admin } from '@platformatic/kafka'
import { logger } from '../log.ts'
import type { KafkaContext } from './context.ts'
import { withConnectionRetry } from './retry.ts'
import { type TopicSpec, topicCatalogue, topicConfigs } from './topics.ts'

const log = logger('kafka')

export interface TopicToEnsure {
  name: string
  partitions: number
  replicationFactor: number
  compacted: boolean
}

export interface TopicDescription {
  name: string
  partitions: number
  /** End offset (next offset to be written) per partition. */
  endOffsets: bigint[]
  messages: bigint
}

/** An Admin client that has answered a metadata request (connection retried with backoff). */
export async function connectAdmin(context: KafkaContext, signal?: AbortSignal): Promise<Admin> {
  const admin = new Admin({
    clientId: `${context.clientId}-admin`,
    bootstrapBrokers: [...context.brokers],
    retries: 0,
    connectTimeout: 3_000,
  })
  try {
    await withConnectionRetry(context.brokers, context.retry, log, () => admin.metadata({ topics: [] }), signal)
  } catch (error) {
    await admin.close().catch(() => {})
    throw error
  }
  return admin
}

/** Every topic of the catalogue with the context's prefix, partitions and replication factor. */
export function catalogueTopics(context: KafkaContext): TopicToEnsure[] {
  return Object.values(topicCatalogue).map((spec: TopicSpec) => ({
    name: `${context.topicPrefix}${spec.name}`,
    partitions: context.partitions,
    replicationFactor: context.replicationFactor,
    compacted: spec.compacted,
  }))
}

/**
 * Creates the topics that do not exist yet and waits until every one has a leader that serves it.
 * Idempotent: existing topics are left as they are. Returns the names it created.
 */
export async function ensureTopics(admin: Admin, topics: readonly TopicToEnsure[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics())
  const created: string[] = []
  for (const topic of topics) {
    if (existing.has(topic.name)) continue
    try {
      await admin.createTopics({
        topics: [topic.name],
        partitions: topic.partitions,
        replicas: topic.replicationFactor,
        configs: topicConfigs(topic),
      })
      created.push(topic.name)
    } catch (error) {
      // another process may have created it between listTopics and createTopics
      if (!/already exists/i.test(JSON.stringify(errorDetails(error)))) throw error
    }
  }
  if (created.length > 0) {
    await waitForLeaders(admin, created)
    log.info('created topics', { topics: created.join(',') })
  }
  return created
}

function errorDetails(error: unknown): unknown {
  if (error instanceof Error) {
    const fields = error as unknown as Record<string, unknown>
    return { message: error.message, errors: fields.errors, response: fields.response, cause: fields.cause }
  }
  return error
}

async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    try {
      const metadata = await admin.metadata({ topics, forceUpdate: true })
      const ready = topics.every((name) => {
        const topic = metadata.topics.get(name)
        return topic?.partitions.every((partition) => partition.leader >= 0) === true
      })
      if (ready) {
        // a leader named in the metadata may not serve its partition yet: ask it for the end offsets
        await admin.listOffsets({
          topics: topics.map((name) => ({
            name,
            partitions: Array.from(
              { length: metadata.topics.get(name)?.partitionsCount ?? 0 },
              (_, partitionIndex) => ({
                partitionIndex,
                timestamp: -1n,
              }),
            ),
          })),
        })
        return
      }
    } catch {
      // leaders not elected, or not serving their partitions yet
    }
    await sleep(100)
  }
}

/** Topics (internal ones excluded) with partitions and end offsets, sorted by name. */
export async function describeTopics(admin: Admin, filter?: (name: string) => boolean): Promise<TopicDescription[]> {
  const names = (await admin.listTopics()).filter((name) => !name.startsWith('__') && (filter ? filter(name) : true))
  if (names.length === 0) return []
  const metadata = await admin.metadata({ topics: names, forceUpdate: true })
  const request = names.map((name) => ({
    name,
    partitions: Array.from({ length: metadata.topics.get(name)?.partitionsCount ?? 0 }, (_, partitionIndex) => ({
      partitionIndex,
      timestamp: -1n,
    })),
  }))
  const offsets = await admin.listOffsets({ topics: request })
  const byName = new Map(offsets.map((topic) => [topic.name, topic]))
  return names.sort().map((name) => {
    const listed = byName.get(name)?.partitions ?? []
    const endOffsets = [...listed].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.offset)
    return { name, partitions: endOffsets.length, endOffsets, messages: endOffsets.reduce((sum, o) => sum + o, 0n) }
  })
}

/** Connects, creates every catalogue topic that is missing, and disconnects. */
export async function ensureCatalogue(context: KafkaContext, signal?: AbortSignal): Promise<string[]> {
  const admin = await connectAdmin(context, signal)
  try {
    return await ensureTopics(admin, catalogueTopics(context))
  } finally {
    await admin.close()
  }
}

// Follows a few topics for the console from chosen start offsets (a throw-away read_committed
// consumer, no group offsets): each record goes to `onRecord`; after a failure (the broker gone, a
// topic not there yet) it reconnects and resumes after the last record it handed over.

import { Consumer, FetchIsolationLevels, type Message, type MessagesStream } from '@platformatic/kafka'
import { closeAfterJoin } from '../kafka/close-consumer.ts'
import { logger } from '../log.ts'
import type { ConsoleKafka } from './kafka.ts'

const log = logger('console')

export type FollowedMessage = Message<Buffer, Buffer, Buffer, Buffer>

export interface FollowOptions {
  topics: readonly string[]
  /** Where to start in a partition the follower has not read yet, from its low and high offsets. */
  startAt: (topic: string, partition: { low: bigint; high: bigint }) => bigint
  onRecord: (message: FollowedMessage) => void
  /** Consumer client id suffix. */
  name: string
}

export class TopicFollower {
  readonly #kafka: ConsoleKafka
  readonly #options: FollowOptions
  /** Next offset to read per `topic:partition`, once read from. */
  readonly #next = new Map<string, bigint>()
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined
  /** The consumer's consume() under way: it joins a group, and is let finish before a close. */
  #joining: Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> | undefined
  #closing = false
  #running: Promise<void> | undefined

  constructor(kafka: ConsoleKafka, options: FollowOptions) {
    this.#kafka = kafka
    this.#options = options
  }

  start(): void {
    this.#running = this.#run()
  }

  async stop(): Promise<void> {
    this.#closing = true
    await closeAfterJoin(this.#consumer, this.#joining)
    await this.#running?.catch(() => {})
  }

  async #run(): Promise<void> {
    const { topics, startAt, onRecord, name } = this.#options
    while (!this.#closing) {
      try {
        const existing = new Set(await this.#kafka.topicNames())
        const present = topics.filter((topic) => existing.has(topic))
        if (present.length === 0) throw new Error(`none of ${topics.join(', ')} exists yet`)
        const offsets = await this.#kafka.offsets(present)
        const consumer = new Consumer({
          clientId: `${this.#kafka.context.clientId}-console-${name}`,
          groupId: `${this.#kafka.context.clientId}-console-${name}-${process.pid}-${Date.now()}`,
          bootstrapBrokers: [...this.#kafka.context.brokers],
          isolationLevel: FetchIsolationLevels.READ_COMMITTED,
          maxWaitTime: 200,
        })
        this.#consumer = consumer
        if (this.#closing) break
        this.#joining = consumer.consume({
          topics: present,
          mode: 'manual',
          autocommit: false,
          offsets: present.flatMap((topic) =>
            (offsets.get(topic) ?? []).map((p, partition) => ({
              topic,
              partition,
              offset: this.#next.get(`${topic}:${partition}`) ?? startAt(topic, p),
            })),
          ),
        })
        const stream = await this.#joining
        if (this.#closing) break
        for await (const message of stream) {
          if (this.#closing) break
          this.#next.set(`${message.topic}:${message.partition}`, message.offset + 1n)
          try {
            onRecord(message)
          } catch (error) {
            log.debug('console follower skipped a record', { topic: message.topic, error: String(error) })
          }
        }
      } catch (error) {
        if (this.#closing) return
        log.debug('console follower restarts', { name, error: String(error) })
      } finally {
        await this.#consumer?.close(true).catch(() => {})
      }
      if (!this.#closing) await new Promise((resolve) => setTimeout(resolve, 2_000))
    }
  }
}

/** The offset `count` records before a partition's end (its low offset when it holds fewer). */
export function recordsBeforeEnd(count: bigint, { low, high }: { low: bigint; high: bigint }): bigint {
  if (high - count < low) return low
  return high - count
}

import type { Config } from '../config/settings.ts'
import type { RetryPolicy } from './retry.ts'

/** What every Kafka-side component needs to know about the cluster. */
export interface KafkaContext {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly retry: RetryPolicy
  readonly topicPrefix: string
  readonly partitions: number
  readonly replicationFactor: number
}

export function kafkaContext(config: Config, brokers: readonly string[]): KafkaContext {
  return {
    brokers,
    clientId: config['kafka.clientId'],
    retry: {
      attempts: config['kafka.connectAttempts'],
      baseDelayMs: config['kafka.connectBackoffMs'],
      maxDelayMs: config['kafka.connectBackoffMaxMs'],
    },
    topicPrefix: config['topics.prefix'],
    partitions: config['topics.partitions'],
    replicationFactor: config['topics.replicationFactor'],
  }
}

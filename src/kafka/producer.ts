import { type CompressionAlgorithmValue, ProduceAcks, Producer } from '@platformatic/kafka'
import type { KafkaContext } from './context.ts'

export interface ProducerSettings {
  /** Suffix of the client id, e.g. the source or service name. */
  name: string
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
  /** Kafka transactional id; implies idempotence. */
  transactionalId?: string
}

export type BufferProducer = Producer<Buffer, Buffer, string, string>

const encoder = {
  key: (key?: Buffer) => key,
  value: (value?: Buffer) => value,
  headerKey: (key?: string) => (key === undefined ? undefined : Buffer.from(key)),
  headerValue: (value?: string) => (value === undefined ? undefined : Buffer.from(value)),
}

/**
 * Lookout's producers are always idempotent with acks=all: a retried send never writes a
 * record twice, and a record is acknowledged only once every in-sync replica has it.
 */
export function createProducer(context: KafkaContext, settings: ProducerSettings): BufferProducer {
  const compression = settings.compression && settings.compression !== 'none' ? settings.compression : undefined
  return new Producer<Buffer, Buffer, string, string>({
    clientId: `${context.clientId}-${settings.name}`,
    bootstrapBrokers: [...context.brokers],
    idempotent: true,
    acks: ProduceAcks.ALL,
    ...(compression ? { compression: compression as CompressionAlgorithmValue } : {}),
    ...(settings.transactionalId ? { transactionalId: settings.transactionalId } : {}),
    serializers: encoder,
    retries: 5,
    retryDelay: 200,
  })
}

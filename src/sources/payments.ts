// The payments source: Poisson arrivals on simulated time (peak hours), keyed by
// customer; init mode flush empties the topic and backfills the past 7 days first.

import { PaymentGenerator, paymentDefaults } from '../core/sources/payments.ts'
import { partitionOffsets } from '../kafka/tail.ts'
import type { OutgoingEvent } from './runner.ts'
import type { KafkaSide, PreparedSource, SourceDefinition } from './source.ts'

/** Deletes every record of `topic` (the topic itself, its configs and partitions stay). */
export async function flushTopic(kafka: KafkaSide): Promise<number> {
  const partitions = await partitionOffsets(kafka.admin, kafka.topic)
  const deleted = partitions.reduce((sum, p) => sum + Number(p.end - p.earliest), 0)
  const nonEmpty = partitions.filter((p) => p.end > p.earliest)
  if (nonEmpty.length > 0) {
    await kafka.admin.deleteRecords({
      topics: [{ name: kafka.topic, partitions: nonEmpty.map((p) => ({ partition: p.partition, offset: p.end })) }],
    })
  }
  return deleted
}

export const paymentsSource: SourceDefinition<undefined> = {
  name: 'payments',
  description: 'payment events with Poisson arrivals, peak hours, fraud and declines; optional 7-day backfill',
  sections: ['payments'],
  load: async () => undefined,
  async prepare(_loaded, kafka): Promise<PreparedSource> {
    const config = kafka.config
    const rate = config['source.rate']
    const nowMs = Date.now()
    const generator = new PaymentGenerator({
      seed: config['source.seed'],
      startTimeMs: nowMs,
      // --rate N sets the base (off-peak) arrival rate in events/s; the default is 100/min
      baseRatePerMinute: typeof rate === 'number' ? rate * 60 : paymentDefaults.baseRatePerMinute,
      peakFactor: config['payments.peakFactor'],
      fraudRate: config['payments.fraudRate'],
      declinedRate: config['payments.declinedRate'],
      merchants: config['payments.merchants'],
      customers: config['payments.customers'],
    })
    let prelude: PreparedSource['prelude']
    if (config['payments.initMode'] === 'flush') {
      const deleted = await flushTopic(kafka)
      kafka.log.info(`flushed ${kafka.topic}`, { deletedRecords: deleted })
      const count = config['payments.backfill']
      const backfill = generator.backfill({ nowMs, wallClockSeconds: nowMs / 1000, count, days: 7 })
      prelude = {
        label: 'backfill',
        events: backfill.map((payment): OutgoingEvent => ({ key: payment.customer_id, value: payment })),
      }
    }
    const speed = config['source.speed']
    return {
      // --rate N keeps Poisson arrivals (base rate N/s); only --rate max changes the pacing
      pacing: rate === 'max' ? { kind: 'unthrottled' } : { kind: 'eventTime', speed },
      ...(prelude ? { prelude } : {}),
      events: {
        next(wallMs) {
          const payment = generator.next(wallMs / 1000)
          return { key: payment.customer_id, value: payment }
        },
        nextEventTimeMs: () => generator.nextEventTimeMs,
      },
    }
  },
}

// Kafka's own producer and consumer performance tools against Lookout's TypeScript producer
// and consumer, on the same local broker, in the same run, with 300-byte records.
//   node bench/kafka-baseline.ts [records]
import { Admin, Consumer } from '@platformatic/kafka'
import { loadConfig } from '../src/config/load.ts'
import { kafkaContext } from '../src/kafka/context.ts'
import { createProducer } from '../src/kafka/producer.ts'
import { startBenchBroker } from './lib/broker.ts'
import { kafkaConsumerPerf, kafkaProducerPerf } from './lib/kafka-tools.ts'

const records = Number(process.argv[2] ?? 500_000)
const recordSize = 300
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

async function createTopic(bootstrap: string, name: string): Promise<void> {
  const admin = new Admin({ clientId: 'bench', bootstrapBrokers: [bootstrap] })
  await admin.createTopics({ topics: [name], partitions: 3, replicas: 1 })
  await new Promise((r) => setTimeout(r, 500))
  await admin.close()
}

/** Lookout's producer: idempotent, acks=all, batches of 1,000 records, 4 batches in flight. */
async function lookoutProduce(bootstrap: string, topic: string): Promise<number> {
  const context = kafkaContext(loadConfig({ env: {} }), [bootstrap])
  const producer = createProducer(context, { name: 'bench' })
  const value = Buffer.alloc(recordSize, 120)
  const batchSize = 1_000
  const inFlight = 4
  let next = 0
  const started = performance.now()
  const worker = async () => {
    while (next < records) {
      const from = next
      next += batchSize
      const count = Math.min(batchSize, records - from)
      const messages = new Array(count)
      for (let i = 0; i < count; i++) messages[i] = { topic, key: Buffer.from(`key-${(from + i) % 1000}`), value }
      await producer.send({ messages })
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  const seconds = (performance.now() - started) / 1000
  await producer.close()
  return records / seconds
}

async function lookoutConsume(bootstrap: string, topic: string): Promise<number> {
  const consumer = new Consumer({
    clientId: 'bench-consumer',
    groupId: `bench-${Date.now()}`,
    bootstrapBrokers: [bootstrap],
    maxWaitTime: 100,
    maxBytes: 64 * 1024 * 1024,
  })
  const started = performance.now()
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  let count = 0
  for await (const _message of stream) {
    if (++count >= records) break
  }
  const seconds = (performance.now() - started) / 1000
  await stream.close()
  await consumer.close(true)
  return count / seconds
}

const broker = await startBenchBroker()
const results = {
  kafkaProducer: [] as number[],
  lookoutProducer: [] as number[],
  kafkaConsumer: [] as number[],
  lookoutConsumer: [] as number[],
}
try {
  for (let round = 0; round < rounds; round++) {
    const kafkaTopic = `baseline-kafka-${round}`
    const lookoutTopic = `baseline-lookout-${round}`
    await createTopic(broker.bootstrap, kafkaTopic)
    await createTopic(broker.bootstrap, lookoutTopic)
    results.kafkaProducer.push(
      (await kafkaProducerPerf(broker.installation, broker.bootstrap, kafkaTopic, records, recordSize))
        .recordsPerSecond,
    )
    results.lookoutProducer.push(await lookoutProduce(broker.bootstrap, lookoutTopic))
    results.kafkaConsumer.push(
      (await kafkaConsumerPerf(broker.installation, broker.bootstrap, kafkaTopic, records)).recordsPerSecond,
    )
    results.lookoutConsumer.push(await lookoutConsume(broker.bootstrap, lookoutTopic))
    process.stderr.write(`round ${round + 1}/${rounds} done\n`)
  }
} finally {
  await broker.stop()
}

const row = (name: string, values: number[], reference: number[]) =>
  `${name.padEnd(34)} ${Math.round(median(values)).toLocaleString('en').padStart(12)} msg/s   ratio ${(median(values) / median(reference)).toFixed(2)}   runs ${values.map((v) => Math.round(v)).join(', ')}`
process.stdout.write(
  `\nkafka-baseline: ${records.toLocaleString('en')} records of ${recordSize} bytes, 3 partitions, idempotent acks=all, median of ${rounds}\n`,
)
process.stdout.write(`${row('kafka-producer-perf-test (Java)', results.kafkaProducer, results.kafkaProducer)}\n`)
process.stdout.write(`${row('Lookout producer (TypeScript)', results.lookoutProducer, results.kafkaProducer)}\n`)
process.stdout.write(`${row('kafka-consumer-perf-test (Java)', results.kafkaConsumer, results.kafkaConsumer)}\n`)
process.stdout.write(`${row('Lookout consumer (TypeScript)', results.lookoutConsumer, results.kafkaConsumer)}\n`)
process.stdout.write(
  `${JSON.stringify({ records, recordSize, kafkaProducer: median(results.kafkaProducer), lookoutProducer: median(results.lookoutProducer), kafkaConsumer: median(results.kafkaConsumer), lookoutConsumer: median(results.lookoutConsumer) })}\n`,
)

// The whole pipeline on a local broker, exactly-once on: phased source → enrich → score →
// alert, each service its own process.
//   node bench/pipeline.ts [backlogEvents] [latencySeconds]
// 1. Throughput: a backlog of phased events is processed; the rate at which scores appear
//    is the highest rate the pipeline sustains.
// 2. Latency at 2,000 events/s: production → score and production → alert, p50 and p99.
// 3. The Kafka baseline (Kafka's own producer and consumer tools, 300-byte records) in the same run.
import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { Admin, Consumer, FetchIsolationLevels } from '@platformatic/kafka'
import type { KafkaInstallation } from '../src/broker/install.ts'
import { loadConfig } from '../src/config/load.ts'
import { PhasedGenerator } from '../src/core/sources/phased.ts'
import { catalogueTopics, connectAdmin, ensureTopics } from '../src/kafka/admin.ts'
import { type KafkaContext, kafkaContext } from '../src/kafka/context.ts'
import { createProducer } from '../src/kafka/producer.ts'
import { topicName } from '../src/kafka/topics.ts'
import { root, startBenchBroker } from './lib/broker.ts'
import { kafkaConsumerPerf, kafkaProducerPerf } from './lib/kafka-tools.ts'

const backlog = Number(process.argv[2] ?? 200_000)
const latencySeconds = Number(process.argv[3] ?? 30)
const latencyRate = 2_000
const warmUpSeconds = 10
let measureFrom = Number.POSITIVE_INFINITY

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function setup(bootstrap: string, prefix: string): Promise<KafkaContext> {
  const context = kafkaContext(loadConfig({ env: {}, flags: { 'topics.prefix': prefix } }), [bootstrap])
  const admin = await connectAdmin(context)
  await ensureTopics(admin, catalogueTopics(context))
  await admin.close()
  return context
}

function startServices(bootstrap: string, prefix: string): ChildProcess[] {
  return (['enrich', 'score', 'alert'] as const).map((service) => {
    const child = spawn(
      process.execPath,
      [
        resolve(root, 'src/cli/main.ts'),
        'run',
        service,
        '--brokers',
        bootstrap,
        '--topics-prefix',
        prefix,
        `--${service}-port`,
        '0',
        '--alert-console',
        'false',
        '--log-level',
        'warn',
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
    )
    return child
  })
}

async function stopServices(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null) return done()
          child.once('exit', () => done())
          child.kill('SIGTERM')
        }),
    ),
  )
}

async function produceBacklog(context: KafkaContext, count: number): Promise<void> {
  const generator = new PhasedGenerator({ seed: 1 })
  const producer = createProducer(context, { name: 'bench-source' })
  const topic = topicName(context.topicPrefix, 'rawTransactions')
  let next = 0
  const worker = async () => {
    while (next < count) {
      const size = Math.min(1_000, count - next)
      next += size
      const messages = new Array(size)
      for (let i = 0; i < size; i++) {
        const event = generator.next(Date.now() / 1000)
        messages[i] = { topic, key: Buffer.from(event.user_id), value: Buffer.from(JSON.stringify(event)) }
      }
      await producer.send({ messages })
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
  await producer.close()
}

/** Counts committed records of anomaly-scores (transaction markers excluded) with a consumer. */
async function throughput(bootstrap: string): Promise<{ rate: number; seconds: number }> {
  const prefix = `bench-throughput-${Date.now()}.`
  const context = await setup(bootstrap, prefix)
  process.stderr.write(`producing a backlog of ${backlog} phased events...\n`)
  await produceBacklog(context, backlog)
  const scores = topicName(prefix, 'anomalyScores')
  const consumer = new Consumer({
    clientId: 'bench-counter',
    groupId: `${prefix}counter`,
    bootstrapBrokers: [bootstrap],
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 100,
    maxBytes: 32 * 1024 * 1024,
  })
  const stream = await consumer.consume({ topics: [scores], mode: 'earliest', autocommit: false })
  const services = startServices(bootstrap, prefix)
  let count = 0
  let firstAt = 0
  let firstCount = 0
  let lastAt = 0
  for await (const _message of stream) {
    count++
    if (count === 1_000) {
      firstAt = performance.now()
      firstCount = count
    }
    if (count >= backlog) {
      lastAt = performance.now()
      break
    }
  }
  await stream.close()
  await consumer.close(true)
  await stopServices(services)
  const seconds = (lastAt - firstAt) / 1000
  return { rate: (count - firstCount) / seconds, seconds }
}

async function latency(bootstrap: string): Promise<{ score: number[]; alert: number[]; produced: number }> {
  const prefix = `bench-latency-${Date.now()}.`
  const context = await setup(bootstrap, prefix)
  const services = startServices(bootstrap, prefix)
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: [bootstrap] })
  // wait until the services have joined their groups
  await new Promise((r) => setTimeout(r, 8_000))
  const scoreLatency: number[] = []
  const perSecond = new Map<number, number>()
  const alertLatency: number[] = []
  const consumers: Consumer<Buffer, Buffer, Buffer, Buffer>[] = []
  for (const [topic, sink] of [
    [topicName(prefix, 'anomalyScores'), scoreLatency],
    [topicName(prefix, 'alerts'), alertLatency],
  ] as const) {
    const consumer = new Consumer({
      clientId: 'bench-latency',
      groupId: `${prefix}${topic}`,
      bootstrapBrokers: [bootstrap],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: 10,
    })
    consumers.push(consumer)
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    stream.on('data', (message) => {
      const producedAt = JSON.parse(message.value.toString()).producedAt as number
      // the first seconds warm the services up (JIT, first windows); they are not measured
      if (producedAt < measureFrom) return
      const now = Date.now()
      sink.push(now - producedAt)
      if (process.env.BENCH_DEBUG && sink === scoreLatency) {
        const second = Math.floor(now / 1000)
        const worst = perSecond.get(second) ?? 0
        if (now - producedAt > worst) perSecond.set(second, now - producedAt)
      }
    })
  }
  const generator = new PhasedGenerator({ seed: 2 })
  const producer = createProducer(context, { name: 'bench-paced' })
  measureFrom = Date.now() + warmUpSeconds * 1000
  const topic = topicName(prefix, 'rawTransactions')
  const started = performance.now()
  const total = latencyRate * (latencySeconds + warmUpSeconds)
  let sent = 0
  let measured = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * latencyRate))
    if (due > sent) {
      const messages = []
      for (; sent < due; sent++) {
        const event = generator.next(Date.now() / 1000)
        if (Math.round(event.ingestion_timestamp * 1000) >= measureFrom) measured++
        messages.push({ topic, key: Buffer.from(event.user_id), value: Buffer.from(JSON.stringify(event)) })
      }
      await producer.send({ messages })
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  await producer.close()
  const deadline = Date.now() + 30_000
  while (scoreLatency.length < measured && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  await new Promise((r) => setTimeout(r, 1_000))
  for (const consumer of consumers) await consumer.close(true)
  await admin.close()
  await stopServices(services)
  if (process.env.BENCH_DEBUG)
    process.stderr.write(`worst score latency per second: ${[...perSecond.values()].join(' ')}\n`)
  return {
    score: scoreLatency.sort((a, b) => a - b),
    alert: alertLatency.sort((a, b) => a - b),
    produced: measured,
  }
}

const broker = await startBenchBroker()
try {
  if (process.env.BENCH_ONLY === 'throughput') {
    const only = await throughput(broker.bootstrap)
    process.stdout.write(`sustained ${Math.round(only.rate)} events/s\n`)
  } else if (process.env.BENCH_ONLY === 'latency') {
    const only = await latency(broker.bootstrap)
    process.stdout.write(
      `score p50 ${percentile(only.score, 50)} p99 ${percentile(only.score, 99)}; alert p50 ${percentile(only.alert, 50)} p99 ${percentile(only.alert, 99)}\n`,
    )
  } else {
    await runAll(broker.bootstrap, broker.installation)
  }
} finally {
  await broker.stop()
}

async function runAll(bootstrap: string, installation: KafkaInstallation): Promise<void> {
  const admin = new Admin({ clientId: 'bench', bootstrapBrokers: [bootstrap] })
  await admin.createTopics({ topics: ['bench-baseline'], partitions: 3, replicas: 1 })
  await admin.close()
  const baseline = await kafkaProducerPerf(installation, bootstrap, 'bench-baseline', 300_000, 300)
  const consumerBaseline = await kafkaConsumerPerf(installation, bootstrap, 'bench-baseline', 300_000)
  const sustained = await throughput(bootstrap)
  const measured = await latency(bootstrap)
  const ms = (values: number[], p: number) => `${Math.round(percentile(values, p))} ms`
  process.stdout.write(
    `\npipeline bench (phased → enrich → score → alert, exactly-once, one process per service, 3 partitions)\n`,
  )
  process.stdout.write(
    `Kafka baseline: kafka-producer-perf-test ${Math.round(baseline.recordsPerSecond).toLocaleString('en')} msg/s (300-byte records, idempotent, acks=all); kafka-consumer-perf-test ${Math.round(consumerBaseline.recordsPerSecond).toLocaleString('en')} msg/s\n`,
  )
  process.stdout.write(
    `sustained: ${Math.round(sustained.rate).toLocaleString('en')} events/s through the whole pipeline (${backlog.toLocaleString('en')}-event backlog, ${sustained.seconds.toFixed(1)} s)   target ≥ 20,000   ${sustained.rate >= 20_000 ? 'met' : 'NOT met'}; ratio to the Kafka producer tool ${(sustained.rate / baseline.recordsPerSecond).toFixed(2)}\n`,
  )
  process.stdout.write(
    `latency at ${latencyRate.toLocaleString('en')} events/s for ${latencySeconds} s (after ${warmUpSeconds} s of warm-up): production → score p50 ${ms(measured.score, 50)} p99 ${ms(measured.score, 99)} (${measured.score.length}/${measured.produced} scored); production → alert p50 ${ms(measured.alert, 50)} p99 ${ms(measured.alert, 99)} (${measured.alert.length} alerts)   target p99 < 250 ms ${percentile(measured.score, 99) < 250 && percentile(measured.alert, 99) < 250 ? 'met' : 'NOT met'}\n`,
  )
  process.stdout.write(
    `${JSON.stringify({ kafkaProducer: baseline.recordsPerSecond, kafkaConsumer: consumerBaseline.recordsPerSecond, sustained: sustained.rate, scoreP50: percentile(measured.score, 50), scoreP99: percentile(measured.score, 99), alertP50: percentile(measured.alert, 50), alertP99: percentile(measured.alert, 99) })}\n`,
  )
}

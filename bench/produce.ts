// `lookout produce phased --rate max` against Kafka's own producer tool with records of the same
// average size, on one local broker, in the same run:
//   node bench/produce.ts [events]        (BENCH_KAFKA_PORT, default 19122; BENCH_ROUNDS, default 3)
// The Lookout side runs as a user would run it (a child process: generate, JSON, key, send,
// idempotent acks=all); its peak memory is the child's VmHWM from /proc.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Admin } from '@platformatic/kafka'
import { PhasedGenerator } from '../src/core/sources/phased.ts'
import { root, startBenchBroker } from './lib/broker.ts'
import { kafkaProducerPerf } from './lib/kafka-tools.ts'

const events = Number(process.argv[2] ?? 500_000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Average JSON size of a phased event (and its key), measured on the same generator. */
function averageSizes(): { value: number; key: number } {
  const generator = new PhasedGenerator({ seed: 42 })
  let value = 0
  let key = 0
  const sample = 20_000
  for (let i = 0; i < sample; i++) {
    const event = generator.next(Date.now() / 1000)
    value += Buffer.byteLength(JSON.stringify(event))
    key += Buffer.byteLength(event.user_id)
  }
  return { value: Math.round(value / sample), key: Math.round(key / sample) }
}

async function createTopic(bootstrap: string, name: string): Promise<void> {
  const admin = new Admin({ clientId: 'bench', bootstrapBrokers: [bootstrap] })
  await admin.createTopics({ topics: [name], partitions: 3, replicas: 1 })
  await new Promise((r) => setTimeout(r, 500))
  await admin.close()
}

function peakRssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
  } catch {
    return 0
  }
}

async function lookoutProduce(bootstrap: string, prefix: string): Promise<{ rate: number; peakRssMb: number }> {
  const args = [
    resolve(root, 'src/cli/main.ts'),
    'produce',
    'phased',
    '--count',
    String(events),
    '--rate',
    'max',
    '--brokers',
    bootstrap,
    '--topics-prefix',
    prefix,
    '--port',
    '0',
    '--log-level',
    'warn',
  ]
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  let peak = 0
  const sampler = setInterval(() => {
    peak = Math.max(peak, peakRssKb(child.pid ?? 0))
  }, 50)
  const code = await new Promise<number | null>((done) => child.on('close', done))
  clearInterval(sampler)
  if (code !== 0) throw new Error(`lookout produce exited ${code}\n${stdout}\n${stderr}`)
  const sent = Number(/^\s+sent\s+(\d+)/m.exec(stdout)?.[1])
  const failed = Number(/^\s+failed\s+(\d+)/m.exec(stdout)?.[1])
  if (sent !== events || failed !== 0) throw new Error(`expected ${events} sent, got:\n${stdout}`)
  return { rate: Number(/^\s+rate\s+(\d+)/m.exec(stdout)?.[1]), peakRssMb: peak / 1024 }
}

const sizes = averageSizes()
const broker = await startBenchBroker(Number(process.env.BENCH_KAFKA_PORT ?? 19122))
const kafka: number[] = []
const lookout: number[] = []
const memory: number[] = []
try {
  for (let round = 0; round < rounds; round++) {
    const kafkaTopic = `produce-kafka-${round}`
    await createTopic(broker.bootstrap, kafkaTopic)
    kafka.push(
      (await kafkaProducerPerf(broker.installation, broker.bootstrap, kafkaTopic, events, sizes.value))
        .recordsPerSecond,
    )
    const result = await lookoutProduce(broker.bootstrap, `produce-lookout-${round}.`)
    lookout.push(result.rate)
    memory.push(result.peakRssMb)
    process.stderr.write(
      `round ${round + 1}/${rounds}: kafka ${Math.round(kafka.at(-1)!)}/s, lookout ${result.rate}/s\n`,
    )
  }
} finally {
  await broker.stop()
}

const ratio = median(lookout) / median(kafka)
const row = (name: string, values: number[]) =>
  `${name.padEnd(44)} ${Math.round(median(values)).toLocaleString('en').padStart(10)} events/s   runs ${values.map((v) => Math.round(v)).join(', ')}`
process.stdout.write(
  `\nbench/produce: ${events.toLocaleString('en')} events, ${sizes.value}-byte JSON values (keys ${sizes.key} bytes), 3 partitions, idempotent acks=all, median of ${rounds}\n`,
)
process.stdout.write(`${row(`kafka-producer-perf-test (Java, ${sizes.value} B)`, kafka)}\n`)
process.stdout.write(`${row('lookout produce phased --rate max', lookout)}\n`)
process.stdout.write(
  `ratio ${ratio.toFixed(2)} (target >= 0.5); lookout peak RSS ${Math.round(Math.max(...memory))} MB\n`,
)
process.stdout.write(
  `${JSON.stringify({ events, valueBytes: sizes.value, kafka: median(kafka), lookout: median(lookout), ratio, peakRssMb: Math.max(...memory) })}\n`,
)

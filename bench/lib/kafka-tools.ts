// Kafka's own performance tools (they ship in the broker jars), as the reference every
// Lookout throughput figure is held against.
import { spawn } from 'node:child_process'
import type { KafkaInstallation } from '../../src/broker/install.ts'

function runJava(installation: KafkaInstallation, mainClass: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-Xmx1g', '-cp', installation.classPath, mainClass, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${mainClass} exited ${code}:\n${output}`)),
    )
  })
}

export interface ToolResult {
  records: number
  recordsPerSecond: number
  megabytesPerSecond: number
}

/** kafka-producer-perf-test: idempotent, acks=all, unthrottled. */
export async function kafkaProducerPerf(
  installation: KafkaInstallation,
  bootstrap: string,
  topic: string,
  records: number,
  recordSize: number,
  extraProps: string[] = [],
): Promise<ToolResult> {
  const output = await runJava(installation, 'org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--record-size',
    String(recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${bootstrap}`,
    'acks=all',
    'enable.idempotence=true',
    'linger.ms=5',
    'batch.size=65536',
    ...extraProps,
  ])
  // "500000 records sent, 201612.9 records/sec (57.68 MB/sec), ..."
  const match = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/.exec(output)
  if (!match) throw new Error(`unexpected producer perf output:\n${output}`)
  return { records: Number(match[1]), recordsPerSecond: Number(match[2]), megabytesPerSecond: Number(match[3]) }
}

/** kafka-consumer-perf-test from the earliest offset until `records` were read. */
export async function kafkaConsumerPerf(
  installation: KafkaInstallation,
  bootstrap: string,
  topic: string,
  records: number,
): Promise<ToolResult> {
  const output = await runJava(installation, 'org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server',
    bootstrap,
    '--topic',
    topic,
    '--messages',
    String(records),
    '--timeout',
    '60000',
  ])
  // header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
  const lines = output.trim().split('\n')
  const headerIndex = lines.findIndex((line) => line.includes('nMsg.sec'))
  const header = lines[headerIndex]?.split(',').map((s) => s.trim())
  const values = lines[headerIndex + 1]?.split(',').map((s) => s.trim())
  if (!header || !values) throw new Error(`unexpected consumer perf output:\n${output}`)
  const field = (name: string) => Number(values[header.indexOf(name)])
  return {
    records: field('data.consumed.in.nMsg'),
    recordsPerSecond: field('nMsg.sec'),
    megabytesPerSecond: field('MB.sec'),
  }
}

// What an idle pipeline costs: the broker's CPU while enrich, score and alert run with nothing
// to do (they still poll their topics and send heartbeats), beside the broker alone and beside
// the identity services of bench/pipeline.ts (the same processor runtime, no other consumers).
// On a laptop this is what Lookout costs between bursts.
//
//   node bench/idle.ts [seconds=10]   (BENCH_KAFKA_PORT: the broker's port, default 19692)
//
// Each topology starts on its own topics, is given 12 s to join its groups and settle, then the
// CPU time of the broker and of each service over `seconds` is read from /proc (Linux).
// Writes bench/results/idle.json.
import { readdirSync, readFileSync } from 'node:fs'
import { loadConfig } from '../src/config/load.ts'
import { catalogueTopics, connectAdmin, ensureTopics } from '../src/kafka/admin.ts'
import { kafkaContext } from '../src/kafka/context.ts'
import { startBenchBroker } from './lib/broker.ts'
import type { StageShape } from './lib/identity-service.ts'
import { writeResults } from './lib/results.ts'
import { identityServices, lookoutServices, processCpuSeconds, stopServices, type Topology } from './lib/services.ts'

const seconds = Number(process.argv[2] ?? 10)
const settleMs = 12_000

/** Pids of the processes whose command line contains `text` (this one left out). */
function pidsWith(text: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) pids.push(pid)
    } catch {
      // the process ended meanwhile
    }
  }
  return pids
}

// identity services write records of these sizes; idle, they write none
const shape: StageShape = {
  bytes: { enrichedFeatures: 539, anomalyScores: 366, anomalies: 607, alerts: 592 },
  anomalyEvery: 12,
  alertEvery: 5,
}

const topologies: Record<string, Topology> = {
  'no services': () => [],
  'Lookout (enrich, score, alert)': lookoutServices(),
  'identity processors (bench/lib/identity-service.ts)': identityServices(shape),
}

const broker = await startBenchBroker()
const brokerPid = broker.pid
if (brokerPid === undefined)
  throw new Error(`the broker at ${broker.bootstrap} was already running: its process is not known`)
const results: { topology: string; brokerSeconds: number; servicesSeconds: number[] }[] = []
try {
  for (const [topology, start] of Object.entries(topologies)) {
    const prefix = `bench-idle-${Date.now()}.`
    const context = kafkaContext(loadConfig({ env: {}, flags: { 'topics.prefix': prefix } }), [broker.bootstrap])
    const admin = await connectAdmin(context)
    await ensureTopics(admin, catalogueTopics(context))
    await admin.close()
    const children = start(broker.bootstrap, prefix)
    try {
      await new Promise((done) => setTimeout(done, settleMs))
      // the services' own processes (a launcher may stand between them and this one)
      const services = pidsWith(prefix)
      const brokerFrom = processCpuSeconds(brokerPid)
      const servicesFrom = services.map(processCpuSeconds)
      await new Promise((done) => setTimeout(done, seconds * 1000))
      results.push({
        topology,
        brokerSeconds: processCpuSeconds(brokerPid) - brokerFrom,
        servicesSeconds: services.map((pid, i) => processCpuSeconds(pid) - servicesFrom[i]!),
      })
    } finally {
      await stopServices(children)
    }
  }
} finally {
  await broker.stop()
}

const out = (line: string) => process.stdout.write(`${line}\n`)
out(`idle pipeline — CPU seconds over ${seconds} s, after ${settleMs / 1000} s to settle`)
for (const r of results) {
  const services = r.servicesSeconds.reduce((total, s) => total + s, 0)
  out(
    `  ${r.topology.padEnd(52)} broker ${r.brokerSeconds.toFixed(2)} s (${((100 * r.brokerSeconds) / seconds).toFixed(1)}% of a core); services ${services.toFixed(2)} s`,
  )
}
const path = writeResults('idle', `node bench/idle.ts ${seconds}`, { seconds, settleMs, results })
out(`figures written to ${path}`)

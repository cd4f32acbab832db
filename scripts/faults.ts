// `npm run test:faults`: proof under faults and load, on real brokers started for the run.
//   1. crash run: phased events through enrich → score → alert (and drift), and aggregate
//      (windows per user), each service in separate `lookout run` processes, while a seeded driver SIGKILLs random instances and the
//      broker (restarting each) and the Slack and webhook endpoints fail for minutes; then a
//      read_committed reconciliation.
//   2. poison messages: malformed records interleaved with valid ones.
//   3. three-broker cluster: replication 3, min.insync.replicas 2, one node killed mid-stream.
// Options: --events, --rate, --process-kills, --broker-kills, --seed, --port (first of the
// ports the run uses: port..port+5), --sink-failure-s, --only crash|poison|cluster.
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { formatReport, root, runFaults } from './faults/harness.ts'
import { formatPoisonReport, runPoison } from './faults/poison.ts'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '500' },
    'process-kills': { type: 'string', default: '22' },
    'broker-kills': { type: 'string', default: '2' },
    seed: { type: 'string', default: '14' },
    port: { type: 'string', default: process.env.FAULTS_KAFKA_PORT ?? '19150' },
    'sink-failure-s': { type: 'string', default: '180' },
    poison: { type: 'string', default: '10000' },
    only: { type: 'string' },
  },
})
const port = Number(values.port)
const dataDir = resolve(root, '.lookout')
const log = (line: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`)
const failures: string[] = []
const print = (text: string) => process.stdout.write(`\n${text}\n\n`)

if (!values.only || values.only === 'crash') {
  const report = await runFaults({
    events: Number(values.events),
    rate: Number(values.rate),
    seed: Number(values.seed),
    users: 1_000,
    partitions: 6,
    instances: { enrich: 2, score: 2, alert: 2, drift: 1, aggregate: 2 },
    processKills: Number(values['process-kills']),
    brokerKills: Number(values['broker-kills']),
    port,
    nodes: 1,
    sinkFailureMs: Number(values['sink-failure-s']) * 1000,
    sinkRetryMaxMs: 60_000,
    dataDir,
    heap: '1g',
    log,
  })
  print(formatReport(report))
  if (report.problems.length) failures.push(`crash run: ${report.problems.length} problems`)
}

if (!values.only || values.only === 'poison') {
  const report = await runPoison({
    poison: Number(values.poison),
    valid: 30_000,
    seed: Number(values.seed),
    port,
    dataDir,
    log,
  })
  print(formatPoisonReport(report))
  if (report.problems.length) failures.push(`poison run: ${report.problems.length} problems`)
}

if (!values.only || values.only === 'cluster') {
  const report = await runFaults({
    events: 60_000,
    rate: 600,
    seed: Number(values.seed) + 1,
    users: 1_000,
    partitions: 6,
    instances: { enrich: 2, score: 2, alert: 1, drift: 1, aggregate: 1 },
    processKills: 4,
    brokerKills: 2,
    port: port + 10,
    nodes: 3,
    sinkFailureMs: 0,
    sinkRetryMaxMs: 5_000,
    dataDir,
    heap: '512m',
    log,
  })
  print(formatReport(report))
  if (report.problems.length) failures.push(`three-broker run: ${report.problems.length} problems`)
}

if (failures.length) {
  process.stdout.write(`test:faults FAILED: ${failures.join('; ')}\n`)
  process.exit(1)
}
process.stdout.write('test:faults passed\n')
process.exit(0)

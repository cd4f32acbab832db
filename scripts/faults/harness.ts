// The fault run: the phased source through enrich → score → alert (and drift), and through
// aggregate (windows of the phased transactions per user), as separate `lookout run`
// processes on a real local broker (one node, or a three-node cluster), while a driver with a
// fixed seed SIGKILLs random processor instances and the broker (restarting each), and the
// Slack and webhook endpoints answer 500 and 429 for a while. Afterwards a reconciliation
// reads every output with read_committed. Used by `npm run test:faults`
// (scripts/faults.ts) and, smaller, by test/faults/faults.kafka.test.ts.
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  clusterDirectory,
  type LocalBrokerOptions,
  recordedClusterNodes,
  startBroker,
  startCluster,
  stopBroker,
  stopCluster,
} from '../../src/broker/local.ts'
import { type Alert, decideAlert, type EntityAlertState } from '../../src/core/alerts.ts'
import { decodeEnriched } from '../../src/core/pipeline/enriched-record.ts'
import type { ScoredEvent } from '../../src/core/pipeline/events.ts'
import { Random } from '../../src/core/random.ts'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { catalogueTopics, connectAdmin, ensureTopics } from '../../src/kafka/admin.ts'
import type { KafkaContext } from '../../src/kafka/context.ts'
import { changelogTopic, topicName } from '../../src/kafka/topics.ts'
import { idempotencyKey } from '../../src/services/sinks.ts'
import { ArrivalMonitor, commitTimes, PatientProducer, readToEnd } from './kafka-io.ts'
import { checkWindows, faultAggregation, type WindowCheck } from './windows.ts'

export const root = resolve(import.meta.dirname, '..', '..')

export type ServiceName = 'enrich' | 'score' | 'alert' | 'drift' | 'aggregate'

export interface FaultRunOptions {
  /** Phased events produced (at `rate` per second). */
  events: number
  rate: number
  seed: number
  users: number
  partitions: number
  /** Processes per service. */
  instances: Record<ServiceName, number>
  processKills: number
  brokerKills: number
  /** First broker port; a cluster's nodes take port, port+2, port+4 (controllers on the next port). */
  port: number
  /** 1: a single node, killed and restarted; 3: a cluster with replication 3, one node killed at a time. */
  nodes: 1 | 3
  /** The Slack and webhook endpoints answer 500 and 429 for this long from the start. */
  sinkFailureMs: number
  /** alert.retryMaxMs of the alert processes. */
  sinkRetryMaxMs: number
  dataDir: string
  heap: string
  /** Progress lines. */
  log: (line: string) => void
}

export interface Fault {
  kind: 'process' | 'broker'
  target: string
  at: number
  /** Back in service (restarted) at. */
  restartedAt?: number
  /** Kill → every partition of the watched output has a committed record written after the kill. */
  recoveryMs?: number
  watched: string
}

export interface SinkCheck {
  name: string
  requests: number
  rejected: number
  accepted: number
  distinctKeys: number
  duplicates: number
  missing: number
  outOfOrderEntities: number
  firstAcceptedAfterMs: number | undefined
}

export interface Reconciliation {
  produced: number
  sourceResends: number
  rawRecords: number
  rawDuplicates: number
  scored: number
  scoredMissing: number
  scoredDuplicates: number
  scoredUnknown: number
  enriched: number
  enrichedDuplicates: number
  users: number
  usersWithReset: number
  anomalies: number
  anomaliesDuplicates: number
  anomaliesMismatch: number
  alerts: number
  alertsDuplicates: number
  alertsExpected: number
  alertsMissing: number
  alertsUnexpected: number
  driftEvents: number
  driftDuplicates: number
  deadLetters: number
  windows: WindowCheck
  sinks: SinkCheck[]
}

export interface FaultReport {
  options: Omit<FaultRunOptions, 'log'>
  seconds: number
  faults: Fault[]
  reconciliation: Reconciliation
  /** Problems found; empty when the run proves what it should. */
  problems: string[]
}

/** Where each service's commits show: the topic whose partitions must move again after a kill. */
function watchedTopic(prefix: string, service: ServiceName): string {
  if (service === 'enrich') return topicName(prefix, 'enrichedFeatures')
  if (service === 'score') return topicName(prefix, 'anomalyScores')
  if (service === 'aggregate') return topicName(prefix, 'windowAggregates')
  return changelogTopic(prefix, `lookout-${service}`, 'state')
}

export interface Endpoint {
  url: string
  server: Server
  requests: { at: number; status: number; key: string | undefined; entity: string | undefined }[]
}

/** A real HTTP endpoint that answers 500 and 429 (alternately) until `failUntil()`, then 200. */
async function failingEndpoint(failUntil: () => number, keyOf: (body: unknown) => [string?, string?]) {
  const endpoint: Endpoint = { url: '', server: createServer(), requests: [] }
  endpoint.server.on('request', (request, response) => {
    let text = ''
    request.on('data', (chunk) => {
      text += chunk
    })
    request.on('end', () => {
      const failing = Date.now() < failUntil()
      const status = failing ? (endpoint.requests.length % 2 === 0 ? 500 : 429) : 200
      let key: string | undefined
      let entity: string | undefined
      try {
        ;[key, entity] = keyOf(JSON.parse(text))
      } catch {}
      endpoint.requests.push({ at: Date.now(), status, key, entity })
      response.writeHead(status, status === 429 ? { 'retry-after': '2' } : {}).end(status === 200 ? 'ok' : 'try later')
    })
  })
  await new Promise<void>((done) => endpoint.server.listen(0, '127.0.0.1', () => done()))
  const address = endpoint.server.address()
  endpoint.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  return endpoint
}

/** One service process slot: restarted whenever it exits, until the run stops. */
class Slot {
  readonly service: ServiceName
  readonly index: number
  child: ChildProcess | undefined
  /** Set once the current process logged that it runs. */
  running = false
  #stopping = false
  readonly #args: string[]
  readonly #logFile: WriteStream
  readonly #log: (line: string) => void

  constructor(service: ServiceName, index: number, args: string[], logDir: string, log: (line: string) => void) {
    this.service = service
    this.index = index
    this.#args = args
    this.#logFile = createWriteStream(join(logDir, `${service}-${index}.log`), { flags: 'a' })
    this.#log = log
  }

  get name(): string {
    return `${this.service}-${this.index}`
  }

  start(): void {
    const child = spawn(process.execPath, [resolve(root, 'src/cli/main.ts'), 'run', this.service, ...this.#args], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    this.#logFile.write(`--- started pid ${child.pid} at ${new Date().toISOString()}\n`)
    this.running = false
    child.stderr?.pipe(this.#logFile, { end: false })
    child.stderr?.on('data', (chunk: Buffer) => {
      if (!this.running && this.child === child && / running /.test(chunk.toString())) this.running = true
    })
    child.on('exit', (code, signal) => {
      if (this.#stopping || this.child !== child) return
      if (signal !== 'SIGKILL') this.#log(`${this.name} exited (${signal ?? code}); restarting it`)
      setTimeout(() => {
        if (!this.#stopping && this.child === child) this.start()
      }, 1_000)
    })
    this.child = child
  }

  /** SIGKILL; the exit handler does not restart it (the driver does, after its delay). */
  kill(): void {
    const child = this.child
    this.child = undefined
    child?.kill('SIGKILL')
  }

  async stop(): Promise<void> {
    this.#stopping = true
    const child = this.child
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((done) => child.once('exit', () => done()))
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(20_000).then(() => child.kill('SIGKILL'))])
    }
    this.#logFile.end()
  }
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Broker nodes the run can kill and restart. */
class Brokers {
  readonly #options: LocalBrokerOptions
  readonly #nodes: 1 | 3
  #nodeOptions: LocalBrokerOptions[] = []
  #pids: number[] = []
  bootstrap: string[] = []

  constructor(options: LocalBrokerOptions, nodes: 1 | 3) {
    this.#options = options
    this.#nodes = nodes
  }

  /** Fresh storage, then start. */
  async start(): Promise<number> {
    if (this.#nodes === 1) {
      await stopBroker(this.#options)
      rmSync(resolve(this.#options.dataDir, `broker-${this.#options.port}`), { recursive: true, force: true })
      const started = await startBroker(this.#options)
      this.#nodeOptions = [this.#options]
      this.#pids = [started.pid]
      this.bootstrap = [started.bootstrap]
      return started.startupMs
    }
    await stopCluster(this.#options)
    rmSync(clusterDirectory(this.#options), { recursive: true, force: true })
    const cluster = await startCluster(this.#options, this.#nodes)
    this.#nodeOptions = recordedClusterNodes(this.#options)!
    this.#pids = cluster.nodes.map((node) => node.pid)
    this.bootstrap = cluster.bootstrap
    return cluster.startupMs
  }

  get count(): number {
    return this.#pids.length
  }

  async kill(node: number): Promise<void> {
    const pid = this.#pids[node]!
    process.kill(pid, 'SIGKILL')
    for (;;) {
      try {
        process.kill(pid, 0)
      } catch {
        return
      }
      await sleep(20)
    }
  }

  async restart(node: number): Promise<void> {
    const started = await startBroker(this.#nodeOptions[node]!)
    this.#pids[node] = started.pid
  }

  async stop(): Promise<void> {
    if (this.#nodes === 1) await stopBroker(this.#options)
    else await stopCluster(this.#options)
  }
}

/** The fault run; resolves with the report once everything it started is stopped. */
export async function runFaults(options: FaultRunOptions): Promise<FaultReport> {
  // what a run that throws must still stop (the broker, the services, the endpoints), newest first
  const cleanups: (() => unknown)[] = []
  try {
    return await faultRun(options, cleanups)
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {})
  }
}

async function faultRun(options: FaultRunOptions, cleanups: (() => unknown)[]): Promise<FaultReport> {
  const log = options.log
  const started = Date.now()
  const rng = new Random(options.seed)
  const logDir = resolve(options.dataDir, `faults-${options.port}`)
  rmSync(logDir, { recursive: true, force: true })
  mkdirSync(logDir, { recursive: true })
  const brokerOptions: LocalBrokerOptions = {
    dataDir: options.dataDir,
    port: options.port,
    controllerPort: 0,
    kafkaVersion: '4.1.1',
    heap: options.heap,
    startTimeoutMs: 120_000,
    stopTimeoutMs: 20_000,
  }
  const brokers = new Brokers(brokerOptions, options.nodes)
  cleanups.push(() => brokers.stop())
  const startupMs = await brokers.start()
  log(
    `${options.nodes === 1 ? 'broker' : `${options.nodes}-node cluster`} at ${brokers.bootstrap.join(',')} in ${(startupMs / 1000).toFixed(1)} s; logs in ${logDir}`,
  )
  const replication = options.nodes >= 3 ? 3 : 1
  const context: KafkaContext = {
    brokers: brokers.bootstrap,
    clientId: 'lookout-faults',
    retry: { attempts: 20, baseDelayMs: 250, maxDelayMs: 2_000 },
    topicPrefix: `faults-${options.seed}.`,
    partitions: options.partitions,
    replicationFactor: replication,
  }
  const prefix = context.topicPrefix
  const services = (['enrich', 'score', 'alert', 'drift', 'aggregate'] as const).filter(
    (service) => options.instances[service] > 0,
  )
  const admin = await connectAdmin(context)
  try {
    await ensureTopics(admin, [
      ...catalogueTopics(context),
      ...services.map((service) => ({
        name: changelogTopic(prefix, `lookout-${service}`, 'state'),
        partitions: options.partitions,
        replicationFactor: replication,
        compacted: true,
      })),
    ])
  } finally {
    await admin.close()
  }

  // the endpoints fail for sinkFailureMs from the first alert they are sent
  let sinksFailUntil = Number.POSITIVE_INFINITY
  const failUntil = () => {
    if (sinksFailUntil === Number.POSITIVE_INFINITY) sinksFailUntil = Date.now() + options.sinkFailureMs
    return sinksFailUntil
  }
  const webhook = await failingEndpoint(failUntil, (body) => {
    const alert = body as Alert & { idempotencyKey?: string }
    return [alert.idempotencyKey, alert.entity]
  })
  const slack = await failingEndpoint(failUntil, (body) => {
    const message = body as { metadata?: { event_payload?: { idempotency_key?: string } }; text?: string }
    const entity = /anomaly for (\S+):/.exec(message.text ?? '')?.[1]
    return [message.metadata?.event_payload?.idempotency_key, entity]
  })
  for (const endpoint of [webhook, slack]) cleanups.push(() => endpoint.server.listening && endpoint.server.close())

  const common = [
    '--brokers',
    brokers.bootstrap.join(','),
    '--topics-prefix',
    prefix,
    '--topics-partitions',
    String(options.partitions),
    '--topics-replication-factor',
    String(replication),
    '--processor-max-batch',
    '1000',
    '--kafka-connect-attempts',
    '30',
    '--kafka-connect-backoff-max-ms',
    '2000',
  ]
  const slots: Slot[] = []
  for (const service of services) {
    for (let i = 0; i < options.instances[service]; i++) {
      const args = [...common, `--${service}-port`, '0']
      if (service === 'alert')
        args.push(
          '--alert-console',
          'false',
          '--alert-webhook-url',
          `${webhook.url}/hook`,
          '--alert-slack-webhook-url',
          `${slack.url}/services/T000/B000/XXXX`,
          '--alert-retry-max-ms',
          String(options.sinkRetryMaxMs),
        )
      if (service === 'aggregate') args.push('--aggregate-aggregations', JSON.stringify([faultAggregation]))
      slots.push(new Slot(service, i, args, logDir, log))
    }
  }
  cleanups.push(() => Promise.all(slots.map((slot) => slot.stop())))
  const watched = services.map((service) => watchedTopic(prefix, service))
  const monitor = new ArrivalMonitor(brokers.bootstrap, [...new Set(watched)])
  await monitor.start()
  for (const slot of slots) slot.start()
  // every instance runs before the source starts (Node starts slowly on a busy machine), and
  // the groups have settled
  const runningDeadline = Date.now() + 180_000
  while (!slots.every((slot) => slot.running) && Date.now() < runningDeadline) await sleep(250)
  log(`${slots.filter((slot) => slot.running).length} of ${slots.length} service processes running`)
  await sleep(5_000)

  // the source: phased events at `rate`, every one acknowledged by the broker
  // event time starts at the wall clock (and runs ahead of it: an event every 10 ms of event
  // time on average). Starting in the past, as the generator does by default, a stall of the
  // source longer than aggregate.idleTimeoutMs (a cluster node down) lets the watermark jump to
  // the wall clock, which makes every later event late.
  const sourceStart = Date.now()
  const generator = new PhasedGenerator({ seed: options.seed, users: options.users, startTimeMs: sourceStart })
  const raw = topicName(prefix, 'rawTransactions')
  const producer = new PatientProducer(brokers.bootstrap, 'source')
  const durationMs = (options.events / options.rate) * 1000
  let produced = 0
  const source = (async () => {
    let lastLog = 0
    while (produced < options.events) {
      const due = Math.min(options.events, Math.floor(((Date.now() - sourceStart) / 1000) * options.rate))
      if (due <= produced) {
        await sleep(20)
        continue
      }
      const messages = []
      for (let i = produced; i < Math.min(due, produced + 2_000); i++) {
        const event = generator.next(Date.now() / 1000)
        messages.push({ topic: raw, key: Buffer.from(event.user_id), value: Buffer.from(JSON.stringify(event)) })
      }
      await producer.send(messages)
      produced += messages.length
      if (produced - lastLog >= 25_000) {
        lastLog = produced
        log(
          `source: ${produced} events; scored (committed) ${monitor.count(topicName(prefix, 'anomalyScores'))}; ${((Date.now() - sourceStart) / 1000).toFixed(0)} s`,
        )
      }
    }
  })()

  // the fault schedule: evenly spread over the source's run, jittered, with the seed
  const total = options.processKills + options.brokerKills
  const brokerSlots = new Set(
    Array.from({ length: options.brokerKills }, (_, k) => Math.floor(((k + 1) * total) / (options.brokerKills + 1))),
  )
  const faults: Fault[] = []
  for (let k = 0; k < total; k++) {
    const spacing = (0.85 * durationMs) / total
    const due = sourceStart + 0.08 * durationMs + k * spacing + rng.uniform(0, 0.3) * spacing
    while (Date.now() < due) await sleep(50)
    if (brokerSlots.has(k)) {
      const node = options.nodes === 1 ? 0 : rng.integer(0, brokers.count - 1)
      const fault: Fault = {
        kind: 'broker',
        target: options.nodes === 1 ? 'broker' : `broker node ${node + 1}`,
        at: Date.now(),
        watched: topicName(prefix, 'anomalyScores'),
      }
      await brokers.kill(node)
      fault.at = Date.now()
      faults.push(fault)
      const down = rng.integer(2_000, 6_000)
      log(`fault ${faults.length}: SIGKILL ${fault.target}; restarting it in ${down} ms`)
      await sleep(down)
      await brokers.restart(node)
      fault.restartedAt = Date.now()
    } else {
      const slot = slots[rng.integer(0, slots.length - 1)]!
      const fault: Fault = {
        kind: 'process',
        target: slot.name,
        at: Date.now(),
        watched: watchedTopic(prefix, slot.service),
      }
      slot.kill()
      faults.push(fault)
      const down = rng.integer(200, 2_000)
      log(`fault ${faults.length}: SIGKILL ${slot.name}; restarting it in ${down} ms`)
      await sleep(down)
      slot.start()
      fault.restartedAt = Date.now()
    }
  }
  await source
  log(`source done: ${produced} events in ${((Date.now() - sourceStart) / 1000).toFixed(0)} s`)

  // drain: every event scored, then the alert stage and the sinks quiet
  const scoresTopic = topicName(prefix, 'anomalyScores')
  const drainDeadline = Date.now() + 300_000
  while (monitor.count(scoresTopic) < produced && Date.now() < drainDeadline) await sleep(500)
  log(`scored (committed): ${monitor.count(scoresTopic)} of ${produced}`)
  if (options.instances.aggregate > 0) {
    // the last windows close once every input partition has been idle for the idle timeout
    // (30 s): wait until no window result came for 75 s
    const windowsTopic = topicName(prefix, 'windowAggregates')
    const windowsDeadline = Date.now() + 300_000
    let last = -1
    let quietSince = Date.now()
    while (Date.now() < windowsDeadline) {
      await sleep(2_000)
      const count = monitor.count(windowsTopic)
      if (count !== last) {
        last = count
        quietSince = Date.now()
      } else if (Date.now() - quietSince > 75_000) break
    }
    log(`window results (committed): ${monitor.count(windowsTopic)}`)
  }
  const sinkDeadline =
    Math.max(Date.now(), sinksFailUntil === Number.POSITIVE_INFINITY ? 0 : sinksFailUntil) +
    options.sinkRetryMaxMs +
    120_000
  let alertsSoFar = -1
  for (;;) {
    await sleep(3_000)
    const alerts = (await readToEnd(brokers.bootstrap, topicName(prefix, 'alerts'))).length
    const delivered = (endpoint: Endpoint) =>
      new Set(endpoint.requests.filter((r) => r.status === 200).map((r) => r.key)).size
    const settled = alerts === alertsSoFar && delivered(webhook) >= alerts && delivered(slack) >= alerts
    alertsSoFar = alerts
    if (settled || Date.now() > sinkDeadline) break
  }
  await Promise.all(slots.map((slot) => slot.stop()))
  // recovery: from the kill to the first commit after it on every partition of the stage's output
  const commits = new Map<string, Map<number, number[]>>()
  for (const topic of new Set(faults.map((fault) => fault.watched)))
    commits.set(topic, await commitTimes(brokers.bootstrap, topic))
  for (const fault of faults) {
    let worst: number | undefined
    for (const times of commits.get(fault.watched)?.values() ?? []) {
      const first = times.find((time) => time > fault.at)
      if (first !== undefined) worst = Math.max(worst ?? 0, first - fault.at)
    }
    fault.recoveryMs = worst
  }
  await monitor.stop()
  await producer.close()

  // a transaction still open (a killed instance's, until the coordinator times it out) holds
  // back what read_committed readers see: wait until every partition's last stable offset is
  // its end
  await waitForStableEnds(brokers.bootstrap, prefix, log)
  log('reconciling (read_committed) …')
  const reconciliation = await reconcile(brokers.bootstrap, prefix, {
    produced,
    generatorSeed: options.seed,
    users: options.users,
    resends: producer.resends,
    webhook,
    slack,
    sinksFailUntil,
  })
  webhook.server.close()
  slack.server.close()
  await brokers.stop()

  const problems = checkReconciliation(reconciliation, options)
  for (const fault of faults)
    if (fault.recoveryMs === undefined)
      problems.push(`no committed output on ${fault.watched} after ${fault.target} was killed`)
  if (faults.filter((f) => f.kind === 'process').length < options.processKills)
    problems.push('fewer process kills than asked')
  const { log: _log, ...printable } = options
  return { options: printable, seconds: (Date.now() - started) / 1000, faults, reconciliation, problems }
}

/** Waits (up to 2 minutes) until no transaction is open on the run's topics. */
export async function waitForStableEnds(
  brokers: readonly string[],
  prefix: string,
  log: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + 120_000
  for (;;) {
    const open = await openTransactions(brokers, prefix)
    if (open.length === 0) return
    if (Date.now() > deadline) {
      log(`transactions still open on ${open.join(', ')}: reading up to their last stable offsets`)
      return
    }
    await sleep(1_000)
  }
}

async function openTransactions(brokers: readonly string[], prefix: string): Promise<string[]> {
  const { Consumer, FetchIsolationLevels } = await import('@platformatic/kafka')
  const consumer = new Consumer({
    clientId: 'lookout-faults-lso',
    groupId: 'lookout-faults-lso',
    bootstrapBrokers: [...brokers],
  })
  try {
    const topics = (
      [
        'rawTransactions',
        'enrichedFeatures',
        'anomalyScores',
        'anomalies',
        'alerts',
        'driftEvents',
        'aggregateRepartition',
        'windowAggregates',
        'lateEvents',
      ] as const
    ).map((key) => topicName(prefix, key))
    const metadata = await consumer.metadata({ topics })
    const open: string[] = []
    for (const topic of topics) {
      const partitions = Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, i) => i)
      const ask = (isolationLevel: number) =>
        consumer.listOffsets({ topics: [topic], partitions: { [topic]: partitions }, isolationLevel })
      const ends = (await ask(FetchIsolationLevels.READ_UNCOMMITTED)).get(topic) ?? []
      const stable = (await ask(FetchIsolationLevels.READ_COMMITTED)).get(topic) ?? []
      for (const p of partitions) if (stable[p] !== ends[p]) open.push(`${topic}:${p}`)
    }
    return open
  } finally {
    await consumer.close(true).catch(() => {})
  }
}

export async function reconcile(
  brokers: readonly string[],
  prefix: string,
  run: {
    produced: number
    generatorSeed: number
    users: number
    resends: number
    webhook: Endpoint
    slack: Endpoint
    sinksFailUntil: number
  },
): Promise<Reconciliation> {
  const read = (key: Parameters<typeof topicName>[1]) => readToEnd(brokers, topicName(prefix, key))

  const rawRecords = await read('rawTransactions')
  const rawIds = new Map<string, number>()
  /** Per user, the records of raw-transactions: an event the source wrote twice counts twice. */
  const rawPerUser = new Map<string, number>()
  for (const record of rawRecords) {
    const event = JSON.parse(record.value.toString()) as { transaction_id: string; user_id: string }
    rawIds.set(event.transaction_id, (rawIds.get(event.transaction_id) ?? 0) + 1)
    rawPerUser.set(event.user_id, (rawPerUser.get(event.user_id) ?? 0) + 1)
  }
  const rawDuplicates = [...rawIds.values()].reduce((sum, n) => sum + n - 1, 0)

  // anomaly-scores: every id exactly once
  const scoredIds = new Map<string, number>()
  let scored = 0
  for (const record of await read('anomalyScores')) {
    const id = (JSON.parse(record.value.toString()) as ScoredEvent).id
    scoredIds.set(id, (scoredIds.get(id) ?? 0) + 1)
    scored++
  }
  let scoredMissing = 0
  let scoredDuplicates = 0
  let scoredUnknown = 0
  for (const [id, n] of rawIds) {
    const got = scoredIds.get(id) ?? 0
    if (got === 0) scoredMissing++
    if (got > n) scoredDuplicates += got - n
  }
  for (const id of scoredIds.keys()) if (!rawIds.has(id)) scoredUnknown++

  // enriched-features: exactly once, and each user's event count runs 1..n in the order enrich
  // wrote them (a user's records share a key, so a partition), n being the user's records in
  // raw-transactions: the state was never reset, nor counted an event twice. (By the events' own
  // numbers instead, an event the source wrote twice, and enrich counted twice as it should,
  // would look out of place.)
  const enrichedRecords = await read('enrichedFeatures')
  const enrichedIds = new Map<string, number>()
  let enrichedDuplicates = 0
  const byUser = new Map<string, number[]>()
  for (const record of enrichedRecords) {
    const value = decodeEnriched(record.value)
    // an event the source wrote twice is enriched twice
    const seen = (enrichedIds.get(value.id) ?? 0) + 1
    enrichedIds.set(value.id, seen)
    if (seen > (rawIds.get(value.id) ?? 1)) enrichedDuplicates++
    const counts = byUser.get(value.entity) ?? []
    // user_event_count is the last feature of the transaction schema
    counts.push(value.features[value.features.length - 1]!)
    byUser.set(value.entity, counts)
  }
  let usersWithReset = 0
  for (const [user, counts] of byUser)
    if (counts.length !== rawPerUser.get(user) || counts.some((count, i) => count !== i + 1)) usersWithReset++

  // anomalies: exactly the scored events at or above the threshold, once each (checked by id
  // against the scores topic's own records of them)
  const anomalyRecords = await read('anomalies')
  const anomalyIds = new Map<string, number>()
  const anomalies: { partition: number; event: ScoredEvent }[] = []
  for (const record of anomalyRecords) {
    const event = JSON.parse(record.value.toString()) as ScoredEvent
    anomalyIds.set(event.id, (anomalyIds.get(event.id) ?? 0) + 1)
    anomalies.push({ partition: record.partition, event })
  }
  // an event the source wrote twice is scored, and may be an anomaly, once per record written
  let anomaliesDuplicates = 0
  for (const [id, n] of anomalyIds) anomaliesDuplicates += Math.max(0, n - (rawIds.get(id) ?? 1))
  const threshold = 0.999
  let anomaliesMismatch = 0
  for (const record of await read('anomalyScores')) {
    const event = JSON.parse(record.value.toString()) as ScoredEvent
    if (event.score >= threshold !== anomalyIds.has(event.id)) anomaliesMismatch++
  }

  // alerts: once each, and exactly those the alert policy makes of the anomalies (brute force,
  // per entity in the order of the anomalies topic)
  const alertRecords = await read('alerts')
  const alerts = alertRecords.map((record) => JSON.parse(record.value.toString()) as Alert)
  const alertIds = new Map<string, number>()
  for (const alert of alerts) alertIds.set(alert.id, (alertIds.get(alert.id) ?? 0) + 1)
  const alertsDuplicates = [...alertIds.values()].reduce((sum, n) => sum + n - 1, 0)
  const policy = { dedupWindowMs: 300_000, maxPerEntityPerHour: 3 }
  const states = new Map<string, EntityAlertState>()
  const expected = new Set<string>()
  for (const { event } of anomalies) {
    const { alert, nextState } = decideAlert(event, states.get(event.entity), policy)
    states.set(event.entity, nextState)
    if (alert) expected.add(alert.id)
  }
  let alertsMissing = 0
  for (const id of expected) if (!alertIds.has(id)) alertsMissing++
  let alertsUnexpected = 0
  for (const id of alertIds.keys()) if (!expected.has(id)) alertsUnexpected++

  // drift events: none twice
  const driftRecords = await read('driftEvents')
  const driftKeys = new Set<string>()
  let driftDuplicates = 0
  for (const record of driftRecords) {
    const d = JSON.parse(record.value.toString()) as Record<string, unknown>
    const key = `${d.partition}:${d.detector}:${d.signal}:${d.eventNumber}:${d.statistic}`
    if (driftKeys.has(key)) driftDuplicates++
    driftKeys.add(key)
  }
  const deadLetters = (await read('deadLetters')).length
  const windows = checkWindows(rawRecords, await read('windowAggregates'), await read('lateEvents'))

  // sinks: every alert accepted, by its idempotency key; the first acceptance of each key in
  // the order of the alerts topic per entity; nothing accepted before the endpoints recovered
  const orderByEntity = new Map<string, string[]>()
  for (const alert of alerts) {
    const list = orderByEntity.get(alert.entity) ?? []
    const key = idempotencyKey(alert)
    if (!list.includes(key)) list.push(key)
    orderByEntity.set(alert.entity, list)
  }
  const sinks = [
    ['webhook', run.webhook],
    ['slack', run.slack],
  ].map(([name, endpoint]) => {
    const e = endpoint as Endpoint
    const accepted = e.requests.filter((r) => r.status === 200)
    const keys = new Set(accepted.map((r) => r.key))
    const firstOrder = new Map<string, string[]>()
    const seen = new Set<string>()
    for (const r of accepted) {
      if (!r.key || seen.has(r.key)) continue
      seen.add(r.key)
      const entity = r.entity ?? '?'
      const list = firstOrder.get(entity) ?? []
      list.push(r.key)
      firstOrder.set(entity, list)
    }
    let outOfOrderEntities = 0
    for (const [entity, order] of orderByEntity) {
      const got = firstOrder.get(entity) ?? []
      if (got.join('\n') !== order.join('\n')) outOfOrderEntities++
    }
    let missing = 0
    for (const list of orderByEntity.values()) for (const key of list) if (!keys.has(key)) missing++
    const first = accepted[0]?.at
    return {
      name: name as string,
      requests: e.requests.length,
      rejected: e.requests.length - accepted.length,
      accepted: accepted.length,
      distinctKeys: keys.size,
      duplicates: accepted.length - keys.size,
      missing,
      outOfOrderEntities,
      firstAcceptedAfterMs: first === undefined ? undefined : first - run.sinksFailUntil,
    }
  })

  return {
    produced: run.produced,
    sourceResends: run.resends,
    rawRecords: rawRecords.length,
    rawDuplicates,
    scored,
    scoredMissing,
    scoredDuplicates,
    scoredUnknown,
    enriched: enrichedRecords.length,
    enrichedDuplicates,
    users: byUser.size,
    usersWithReset,
    anomalies: anomalyRecords.length,
    anomaliesDuplicates,
    anomaliesMismatch,
    alerts: alerts.length,
    alertsDuplicates,
    alertsExpected: expected.size,
    alertsMissing,
    alertsUnexpected,
    driftEvents: driftRecords.length,
    driftDuplicates,
    deadLetters,
    windows,
    sinks,
  }
}

export function checkReconciliation(r: Reconciliation, options: FaultRunOptions): string[] {
  const problems: string[] = []
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what)
  }
  // the driver's own producer may write an event twice when a send is retried after a node died
  // (reported, not Lookout's doing): such an id is then expected as often as it was written
  expect(r.rawRecords - r.rawDuplicates === r.produced, `source wrote ${r.rawRecords} records for ${r.produced} events`)
  expect(r.scoredMissing === 0, `${r.scoredMissing} events never scored`)
  expect(r.scoredDuplicates === 0, `${r.scoredDuplicates} events scored twice`)
  expect(r.scoredUnknown === 0, `${r.scoredUnknown} scores of unknown events`)
  expect(r.enrichedDuplicates === 0, `${r.enrichedDuplicates} events enriched twice`)
  expect(r.usersWithReset === 0, `${r.usersWithReset} users whose state was reset`)
  expect(r.anomaliesDuplicates === 0, `${r.anomaliesDuplicates} anomalies twice`)
  expect(r.anomaliesMismatch === 0, `${r.anomaliesMismatch} scores disagree with the anomalies topic`)
  expect(r.alertsDuplicates === 0, `${r.alertsDuplicates} alerts raised twice`)
  expect(r.alertsMissing === 0, `${r.alertsMissing} alerts missing against the anomalies`)
  expect(r.alertsUnexpected === 0, `${r.alertsUnexpected} alerts the policy would not raise`)
  expect(r.driftDuplicates === 0, `${r.driftDuplicates} drift events twice`)
  expect(r.deadLetters === 0, `${r.deadLetters} dead letters from valid events`)
  if (options.instances.aggregate > 0) {
    const w = r.windows
    expect(w.expected > 0, 'no windows to check')
    expect(w.duplicates === 0, `${w.duplicates} windows closed twice`)
    expect(w.missing === 0, `${w.missing} windows without a final result`)
    expect(w.unexpected === 0, `${w.unexpected} window results the brute force does not have`)
    expect(w.mismatches === 0, `${w.mismatches} window results differ from the brute force`)
    expect(w.lateInvalid === 0, `${w.lateInvalid} late-event reports not borne out`)
  }
  for (const sink of r.sinks) {
    expect(sink.missing === 0, `${sink.name}: ${sink.missing} alerts never delivered`)
    expect(sink.outOfOrderEntities === 0, `${sink.name}: ${sink.outOfOrderEntities} entities' alerts out of order`)
    if (options.sinkFailureMs > 0) expect(sink.rejected > 0, `${sink.name}: never failed`)
  }
  return problems
}

const ms = (value: number | undefined) => (value === undefined ? '-' : `${(value / 1000).toFixed(1)} s`)

/** The report as printed by `npm run test:faults`. */
export function formatReport(report: FaultReport): string {
  const r = report.reconciliation
  const lines: string[] = []
  const o = report.options
  lines.push(
    `fault run: ${o.events.toLocaleString('en')} phased events at ${o.rate}/s, seed ${o.seed}, ${o.partitions} partitions, ${o.nodes === 1 ? 'one broker' : `${o.nodes}-node cluster (replication 3, min.insync.replicas 2)`}; processes: ${Object.entries(
      o.instances,
    )
      .map(([s, n]) => `${s}×${n}`)
      .join(', ')}; sinks failing (500/429) for ${ms(o.sinkFailureMs)}; ${report.seconds.toFixed(0)} s in all`,
  )
  lines.push('')
  lines.push(
    '| # | fault | killed at (s) | back at (s) | recovery: kill → first commit after it on every partition of the output |',
  )
  lines.push('|---:|---|---:|---:|---:|')
  const t0 = report.faults[0]?.at ?? 0
  for (const [i, f] of report.faults.entries()) {
    lines.push(
      `| ${i + 1} | SIGKILL ${f.target} | ${((f.at - t0) / 1000).toFixed(1)} | ${f.restartedAt ? ((f.restartedAt - t0) / 1000).toFixed(1) : '-'} | ${ms(f.recoveryMs)} (${f.watched.replace(/^[^.]*\./, '')}) |`,
    )
  }
  lines.push('')
  for (const kind of ['process', 'broker'] as const) {
    const times = report.faults.filter((f) => f.kind === kind && f.recoveryMs !== undefined).map((f) => f.recoveryMs!)
    if (times.length)
      lines.push(
        `recovery after ${kind} kills (${times.length}): median ${ms(median(times))}, worst ${ms(Math.max(...times))}`,
      )
  }
  lines.push('')
  lines.push('reconciliation (read_committed):')
  lines.push(
    `  events produced ${r.produced}; raw-transactions records ${r.rawRecords}, duplicates ${r.rawDuplicates} (source resends ${r.sourceResends})`,
  )
  lines.push(
    `  anomaly-scores ${r.scored}: missing ${r.scoredMissing}, scored twice ${r.scoredDuplicates}, unknown ${r.scoredUnknown}`,
  )
  lines.push(
    `  enriched-features ${r.enriched}: twice ${r.enrichedDuplicates}; ${r.users} users, with a state reset ${r.usersWithReset}`,
  )
  lines.push(
    `  anomalies ${r.anomalies}: twice ${r.anomaliesDuplicates}, disagreeing with the scores ${r.anomaliesMismatch}`,
  )
  lines.push(
    `  alerts ${r.alerts}: twice ${r.alertsDuplicates}; brute-force recomputation from the anomalies ${r.alertsExpected}, missing ${r.alertsMissing}, unexpected ${r.alertsUnexpected}`,
  )
  lines.push(`  drift-events ${r.driftEvents}: twice ${r.driftDuplicates}; dead-letters ${r.deadLetters}`)
  if (o.instances.aggregate > 0) {
    const w = r.windows
    lines.push(
      `  window-aggregates (${faultAggregation.name}: per user, ${faultAggregation.sizeMs / 1000} s windows every ${faultAggregation.slideMs / 1000} s of event time): ${w.results} final results; brute-force recomputation ${w.expected} windows, checked ${w.expected - w.missing}, mismatches ${w.mismatches}, closed twice ${w.duplicates}, missing ${w.missing}, unexpected ${w.unexpected}; late-events ${w.late}, not borne out ${w.lateInvalid}`,
    )
  }
  for (const s of r.sinks)
    lines.push(
      `  sink ${s.name}: ${s.requests} requests, ${s.rejected} answered 500/429, ${s.accepted} accepted, ${s.distinctKeys} distinct idempotency keys (${s.duplicates} redeliveries), missing ${s.missing}, entities out of order ${s.outOfOrderEntities}, first accepted ${ms(s.firstAcceptedAfterMs)} after the endpoints recovered`,
    )
  lines.push('')
  lines.push(report.problems.length ? `PROBLEMS:\n  ${report.problems.join('\n  ')}` : 'every check passed')
  return lines.join('\n')
}

import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Admin } from '@platformatic/kafka'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { logger } from '../log.ts'
import { installKafka, type KafkaInstallation } from './install.ts'
import { javaCommand, requireJava } from './java.ts'

const log = logger('broker')

export interface LocalBrokerOptions {
  dataDir: string
  port: number
  /** 0 = port + 1 */
  controllerPort: number
  kafkaVersion: string
  heap: string
  /**
   * The JVM's JIT compilers: 'c1' (the default) stops at C1, 'tiered' is the JVM's default (C1,
   * then C2 for hot code). Under the pipeline bench, a fresh broker spent about half of its CPU
   * in the C2 compiler for minutes; with C1 alone it took 20–22% of the machine's CPU, against
   * 26–28% (README, Benchmarks › Pipeline).
   */
  compiler?: 'c1' | 'tiered'
  startTimeoutMs: number
  stopTimeoutMs: number
  env?: NodeJS.ProcessEnv
  /** Set for one node of a multi-node cluster (`startCluster`); absent for the single-node broker. */
  node?: ClusterNode
}

/** One node of a local multi-node KRaft cluster: its id, storage directory and the cluster it joins. */
export interface ClusterNode {
  id: number
  directory: string
  clusterId: string
  /** `controller.quorum.voters`: every node's id@host:controllerPort. */
  voters: string
  nodes: number
}

export interface BrokerStatus {
  running: boolean
  healthy: boolean
  pid: number | undefined
  bootstrap: string
  directory: string
  logFile: string
}

export interface StartedBroker {
  pid: number
  bootstrap: string
  /** Milliseconds from the start call until the broker answered a metadata request. */
  startupMs: number
  /** True when this call started the broker; false when a running one was reused. */
  started: boolean
}

function paths(options: LocalBrokerOptions) {
  const directory = options.node?.directory ?? resolve(options.dataDir, `broker-${options.port}`)
  return {
    directory,
    data: join(directory, 'data'),
    properties: join(directory, 'server.properties'),
    log4j: join(directory, 'log4j2.properties'),
    logFile: join(directory, 'broker.log'),
    pidFile: join(directory, 'broker.pid'),
  }
}

function controllerPort(options: LocalBrokerOptions): number {
  return options.controllerPort === 0 ? options.port + 1 : options.controllerPort
}

export function bootstrapAddress(port: number): string {
  return `127.0.0.1:${port}`
}

function serverProperties(options: LocalBrokerOptions, dataDirectory: string): string {
  const controller = controllerPort(options)
  const node = options.node
  // a cluster of three or more keeps every internal topic on three nodes, and acknowledges a
  // write (acks=all) once two have it, so one node can die without losing or blocking anything
  const replicas = node ? Math.min(3, node.nodes) : 1
  const minIsr = replicas >= 3 ? 2 : 1
  return [
    'process.roles=broker,controller',
    `node.id=${node?.id ?? 1}`,
    `controller.quorum.voters=${node?.voters ?? `1@127.0.0.1:${controller}`}`,
    `listeners=PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${controller}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${options.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDirectory}`,
    'num.partitions=3',
    'auto.create.topics.enable=false',
    `offsets.topic.replication.factor=${replicas}`,
    'offsets.topic.num.partitions=3',
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minIsr}`,
    'transaction.state.log.num.partitions=3',
    `share.coordinator.state.topic.replication.factor=${replicas}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    `default.replication.factor=${replicas}`,
    `min.insync.replicas=${minIsr}`,
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=168',
    'log.segment.bytes=268435456',
    'delete.topic.enable=true',
    '',
  ].join('\n')
}

const log4jProperties = `status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = info
logger.apache.name = org.apache.kafka
logger.apache.level = info
logger.state.name = state.change.logger
logger.state.level = warn
`

function javaArguments(installation: KafkaInstallation, options: LocalBrokerOptions, log4jFile: string): string[] {
  return [
    `-Xmx${options.heap}`,
    `-Xms${options.heap === '8k' ? options.heap : '256m'}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    ...((options.compiler ?? 'c1') === 'c1' ? ['-XX:TieredStopAtLevel=1'] : []),
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    '-cp',
    installation.classPath,
  ]
}

/** Cluster ids are 16 random bytes in URL-safe base64, as `kafka-storage random-uuid` makes them. */
function newClusterId(): string {
  return randomBytes(16).toString('base64url')
}

function lastLines(file: string, count: number): string {
  try {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
    return lines.slice(-count).join('\n    ')
  } catch {
    return '(no log written)'
  }
}

async function assertPortFree(port: number, settingName: string): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new LookoutError(ErrorCodes.BROKER_PORT_IN_USE, `port ${port} on 127.0.0.1 is already in use`, {
            hint: `stop the process using it (\`ss -ltnp 'sport = :${port}'\` shows it), or choose another port with ${settingName}; to use a broker that is already running, pass --brokers`,
          }),
        )
      } else reject(error)
    })
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolvePromise()))
  })
}

function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

/** True when `pid` is alive and is a Kafka broker (guards against recycled pids). */
function isBrokerProcess(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka')
  } catch {
    return true
  }
}

/** One metadata request; resolves true when the broker answers. */
export async function answersMetadata(bootstrap: string, timeoutMs = 2_000): Promise<boolean> {
  const admin = new Admin({
    clientId: 'lookout-health',
    bootstrapBrokers: [bootstrap],
    retries: 0,
    connectTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    timeout: timeoutMs,
  })
  try {
    const metadata = await admin.metadata({ topics: [] })
    return metadata.brokers.size > 0
  } catch {
    return false
  } finally {
    await admin.close().catch(() => {})
  }
}

export async function brokerStatus(options: LocalBrokerOptions): Promise<BrokerStatus> {
  const files = paths(options)
  const pid = readPid(files.pidFile)
  const running = pid !== undefined && isBrokerProcess(pid)
  const bootstrap = bootstrapAddress(options.port)
  const healthy = running && (await answersMetadata(bootstrap))
  return {
    running,
    healthy,
    pid: running ? pid : undefined,
    bootstrap,
    directory: files.directory,
    logFile: files.logFile,
  }
}

/**
 * Installs (once), formats (once) and starts a single-node KRaft broker on 127.0.0.1,
 * then waits until it answers a metadata request. The broker runs detached, so it outlives
 * this process unless `stopBroker` is called; a healthy running broker is reused.
 */
export async function startBroker(options: LocalBrokerOptions): Promise<StartedBroker> {
  const started = Date.now()
  const env = options.env ?? process.env
  const files = paths(options)
  const bootstrap = bootstrapAddress(options.port)

  const existingPid = readPid(files.pidFile)
  if (existingPid !== undefined && isBrokerProcess(existingPid)) {
    if (await waitHealthy(bootstrap, Math.min(options.startTimeoutMs, 30_000), () => isBrokerProcess(existingPid))) {
      log.info('local broker already running', { pid: existingPid, bootstrap })
      return { pid: existingPid, bootstrap, startupMs: Date.now() - started, started: false }
    }
  }

  requireJava(env)
  await assertPortFree(options.port, '--broker-port')
  await assertPortFree(controllerPort(options), '--broker-controller-port')
  const installation = await installKafka(options.dataDir, options.kafkaVersion, env)

  mkdirSync(files.data, { recursive: true })
  writeFileSync(files.properties, serverProperties(options, files.data))
  writeFileSync(files.log4j, log4jProperties)
  const java = javaCommand(env)
  const jvm = javaArguments(installation, options, files.log4j)

  if (!existsSync(join(files.data, 'meta.properties'))) {
    const format = spawnSync(
      java,
      [
        ...jvm,
        'kafka.tools.StorageTool',
        'format',
        `--cluster-id=${options.node?.clusterId ?? newClusterId()}`,
        '-c',
        files.properties,
        '--ignore-formatted',
      ],
      { encoding: 'utf8', env },
    )
    if (format.status !== 0) {
      writeFileSync(files.logFile, `${format.stdout}\n${format.stderr}`)
      throw new LookoutError(
        ErrorCodes.BROKER_EXITED,
        `formatting the broker storage failed:\n    ${lastLines(files.logFile, 15)}`,
        {
          hint: `see ${files.logFile}; delete ${files.directory} to start from empty storage`,
        },
      )
    }
  }

  const output = openSync(files.logFile, 'a')
  const child: ChildProcess = spawn(java, [...jvm, 'kafka.Kafka', files.properties], {
    detached: true,
    stdio: ['ignore', output, output],
    env,
  })
  let exitCode: number | null | undefined
  child.on('exit', (code, signal) => {
    exitCode = code ?? (signal ? 128 : 1)
  })
  const pid = child.pid
  if (pid === undefined) throw new LookoutError(ErrorCodes.BROKER_EXITED, `could not start ${java}`)
  writeFileSync(files.pidFile, String(pid))
  log.info('starting local broker', { pid, bootstrap, log: files.logFile })

  const healthy = await waitHealthy(bootstrap, options.startTimeoutMs, () => exitCode === undefined)
  if (!healthy) {
    if (exitCode !== undefined) {
      rmSync(files.pidFile, { force: true })
      throw new LookoutError(
        ErrorCodes.BROKER_EXITED,
        `the local broker exited during start-up (exit code ${exitCode}); last lines of ${files.logFile}:\n    ${lastLines(files.logFile, 20)}`,
        { hint: 'fix the cause shown above (memory, disk, port or a corrupt data directory), then start again' },
      )
    }
    await stopPid(pid, options.stopTimeoutMs)
    rmSync(files.pidFile, { force: true })
    throw new LookoutError(
      ErrorCodes.BROKER_START_TIMEOUT,
      `the local broker did not answer within ${options.startTimeoutMs} ms; last lines of ${files.logFile}:\n    ${lastLines(files.logFile, 20)}`,
      { hint: 'raise broker.startTimeoutMs on a slow machine, or look at the log above' },
    )
  }
  child.unref()
  const startupMs = Date.now() - started
  log.info('local broker is healthy', { bootstrap, seconds: (startupMs / 1000).toFixed(1) })
  return { pid, bootstrap, startupMs, started: true }
}

async function waitHealthy(bootstrap: string, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!alive()) return false
    if (await answersMetadata(bootstrap, 1_000)) return true
    await sleep(200)
  }
  return false
}

async function stopPid(pid: number, timeoutMs: number): Promise<'graceful' | 'forced' | 'gone'> {
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return 'gone'
  }
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isBrokerProcess(pid)) return 'graceful'
    await sleep(100)
  }
  try {
    process.kill(pid, 'SIGKILL')
  } catch {}
  while (isBrokerProcess(pid)) await sleep(50)
  return 'forced'
}

/** Stops the local broker: SIGTERM (controlled shutdown), then SIGKILL after `stopTimeoutMs`. */
export async function stopBroker(options: LocalBrokerOptions): Promise<'graceful' | 'forced' | 'not-running'> {
  const files = paths(options)
  const pid = readPid(files.pidFile)
  if (pid === undefined || !isBrokerProcess(pid)) {
    rmSync(files.pidFile, { force: true })
    return 'not-running'
  }
  log.info('stopping local broker', { pid })
  const how = await stopPid(pid, options.stopTimeoutMs)
  rmSync(files.pidFile, { force: true })
  log.info(how === 'forced' ? 'local broker killed after the stop timeout' : 'local broker stopped', { pid })
  return how === 'forced' ? 'forced' : 'graceful'
}

/** Where a local multi-node cluster keeps its layout (`cluster.json`) and each node's storage. */
export function clusterDirectory(options: Pick<LocalBrokerOptions, 'dataDir' | 'port'>): string {
  return resolve(options.dataDir, `cluster-${options.port}`)
}

interface ClusterLayout {
  clusterId: string
  nodes: number
}

function readLayout(options: LocalBrokerOptions): ClusterLayout | undefined {
  const file = join(clusterDirectory(options), 'cluster.json')
  if (!existsSync(file)) return undefined
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterLayout
}

/**
 * The options of each node of a local cluster of `nodes` KRaft nodes (each both broker and
 * controller) on 127.0.0.1: node i (from 1) listens on `port + 2(i-1)` with its controller on
 * the next port, and keeps its storage in `<dataDir>/cluster-<port>/node-<i>`.
 */
export function clusterNodes(options: LocalBrokerOptions, layout: ClusterLayout): LocalBrokerOptions[] {
  const ports = Array.from({ length: layout.nodes }, (_, i) => options.port + 2 * i)
  const voters = ports.map((port, i) => `${i + 1}@127.0.0.1:${port + 1}`).join(',')
  return ports.map((port, i) => ({
    ...options,
    port,
    controllerPort: port + 1,
    node: {
      id: i + 1,
      directory: join(clusterDirectory(options), `node-${i + 1}`),
      clusterId: layout.clusterId,
      voters,
      nodes: layout.nodes,
    },
  }))
}

/** The nodes of the cluster recorded at `options.port`, if one was started there. */
export function recordedClusterNodes(options: LocalBrokerOptions): LocalBrokerOptions[] | undefined {
  const layout = readLayout(options)
  return layout ? clusterNodes(options, layout) : undefined
}

export interface StartedCluster {
  nodes: StartedBroker[]
  bootstrap: string[]
  startupMs: number
}

/**
 * Starts (or reuses) a local cluster of `nodes` KRaft nodes on one machine: distinct ports and
 * storage directories, one cluster id, internal topics replicated 3 times with
 * `min.insync.replicas=2` (from three nodes on). The nodes start together (a quorum needs a
 * majority of them) and the call returns once every one answers a metadata request.
 * `stopCluster` stops all of them.
 */
export async function startCluster(options: LocalBrokerOptions, nodes: number): Promise<StartedCluster> {
  const started = Date.now()
  const existing = readLayout(options)
  if (existing && existing.nodes !== nodes)
    throw new LookoutError(
      ErrorCodes.USAGE,
      `a ${existing.nodes}-node cluster was created at port ${options.port} (${clusterDirectory(options)})`,
      { hint: `start it with --nodes ${existing.nodes}, or stop it and delete that directory to change its size` },
    )
  const layout = existing ?? { clusterId: newClusterId(), nodes }
  requireJava(options.env ?? process.env)
  await installKafka(options.dataDir, options.kafkaVersion, options.env ?? process.env)
  mkdirSync(clusterDirectory(options), { recursive: true })
  writeFileSync(join(clusterDirectory(options), 'cluster.json'), `${JSON.stringify(layout)}\n`)
  const nodeOptions = clusterNodes(options, layout)
  const results = await Promise.allSettled(nodeOptions.map((node) => startBroker(node)))
  const failed = results.find((result) => result.status === 'rejected')
  if (failed) {
    await Promise.all(nodeOptions.map((node) => stopBroker(node).catch(() => {})))
    throw failed.reason
  }
  const startedNodes = results.map((result) => (result as PromiseFulfilledResult<StartedBroker>).value)
  return { nodes: startedNodes, bootstrap: startedNodes.map((node) => node.bootstrap), startupMs: Date.now() - started }
}

/** Stops every node of the cluster recorded at `options.port` (together, gracefully, then forced). */
export async function stopCluster(
  options: LocalBrokerOptions,
): Promise<('graceful' | 'forced' | 'not-running')[] | undefined> {
  const nodes = recordedClusterNodes(options)
  if (!nodes) return undefined
  return await Promise.all(nodes.map((node) => stopBroker(node)))
}

/** The status of each node of the cluster recorded at `options.port`; undefined when there is none. */
export async function clusterStatus(options: LocalBrokerOptions): Promise<BrokerStatus[] | undefined> {
  const nodes = recordedClusterNodes(options)
  if (!nodes) return undefined
  return await Promise.all(nodes.map((node) => brokerStatus(node)))
}

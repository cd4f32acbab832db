import { brokerStatus, clusterStatus, type LocalBrokerOptions, startBroker, stopBroker } from '../broker/local.ts'
import type { Config } from '../config/settings.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'

export function localBrokerOptions(config: Config): LocalBrokerOptions {
  return {
    dataDir: config.dataDir,
    port: config['broker.port'],
    controllerPort: config['broker.controllerPort'],
    kafkaVersion: config['broker.kafkaVersion'],
    heap: config['broker.heap'],
    compiler: config['broker.compiler'],
    startTimeoutMs: config['broker.startTimeoutMs'],
    stopTimeoutMs: config['broker.stopTimeoutMs'],
  }
}

export interface Cluster {
  brokers: string[]
  /** True when Lookout started a local broker for this command (and so stops it). */
  startedLocal: boolean
  stop(): Promise<void>
}

/**
 * The cluster a command talks to: the configured brokers when there are any (nothing is
 * started), else the local broker, started when `startLocal` and not already running.
 */
export async function resolveCluster(config: Config, options: { startLocal: boolean }): Promise<Cluster> {
  if (config['kafka.brokers'].length > 0) {
    return { brokers: [...config['kafka.brokers']], startedLocal: false, stop: async () => {} }
  }
  const local = localBrokerOptions(config)
  if (options.startLocal) {
    const started = await startBroker(local)
    return {
      brokers: [started.bootstrap],
      startedLocal: started.started,
      stop: async () => {
        if (started.started) await stopBroker(local)
      },
    }
  }
  // a local multi-node cluster (`lookout broker start --nodes N`) at this port: its running nodes
  const nodes = (await clusterStatus(local))?.filter((node) => node.running)
  if (nodes?.length) return { brokers: nodes.map((node) => node.bootstrap), startedLocal: false, stop: async () => {} }
  const status = await brokerStatus(local)
  if (!status.running) {
    throw new LookoutError(
      ErrorCodes.BROKER_NOT_RUNNING,
      `no brokers are configured and no local broker runs on port ${local.port}`,
      {
        hint: 'start one with `lookout broker start` (or `lookout up`), or point at a cluster with --brokers / LOOKOUT_BROKERS',
      },
    )
  }
  return { brokers: [status.bootstrap], startedLocal: false, stop: async () => {} }
}

// A local broker for benchmarks: started on its own port and fresh storage, stopped at the end.
// BENCH_BROKER_COMPILER=tiered gives it the JVM's default compilers (see broker.compiler).
import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { findInstallation, type KafkaInstallation } from '../../src/broker/install.ts'
import { type LocalBrokerOptions, startBroker, stopBroker } from '../../src/broker/local.ts'

export const root = resolve(import.meta.dirname, '..', '..')

/** The bench broker's JIT compilers: BENCH_BROKER_COMPILER=tiered, else C1 alone (broker.compiler's default). */
const benchBrokerCompiler: 'c1' | 'tiered' = process.env.BENCH_BROKER_COMPILER === 'tiered' ? 'tiered' : 'c1'

let brokerStarted = false

/** The compilers of the bench broker this process started, or undefined when it started none. */
export function startedBrokerCompiler(): 'c1' | 'tiered' | undefined {
  return brokerStarted ? benchBrokerCompiler : undefined
}

export interface BenchBroker {
  bootstrap: string
  /** The broker's process id (for its CPU time). */
  pid: number | undefined
  installation: KafkaInstallation
  options: LocalBrokerOptions
  stop(): Promise<void>
}

export async function startBenchBroker(port = Number(process.env.BENCH_KAFKA_PORT ?? 19692)): Promise<BenchBroker> {
  const options: LocalBrokerOptions = {
    dataDir: resolve(root, '.lookout'),
    port,
    controllerPort: 0,
    kafkaVersion: '4.1.1',
    heap: '2g',
    compiler: benchBrokerCompiler,
    startTimeoutMs: 120_000,
    stopTimeoutMs: 20_000,
  }
  await stopBroker(options)
  rmSync(resolve(options.dataDir, `broker-${port}`), { recursive: true, force: true })
  const started = await startBroker(options)
  brokerStarted = true
  const installation = findInstallation(options.dataDir, options.kafkaVersion)
  if (!installation) throw new Error('broker installation missing after start')
  return {
    bootstrap: started.bootstrap,
    pid: started.pid,
    installation,
    options,
    stop: async () => void (await stopBroker(options)),
  }
}

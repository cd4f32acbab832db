#!/usr/bin/env node
import { Command } from 'commander'
import { brokerStatus, clusterStatus, startBroker, startCluster, stopBroker, stopCluster } from '../broker/local.ts'
import { ErrorCodes, isLookoutError, LookoutError } from '../errors.ts'
import { catalogueTopics, connectAdmin, describeTopics, ensureTopics } from '../kafka/admin.ts'
import { kafkaContext } from '../kafka/context.ts'
import { logger } from '../log.ts'
import { localBrokerOptions, resolveCluster } from './cluster.ts'
import { registerEvalCommand } from './eval.ts'
import { registerModelsCommand } from './models.ts'
import { registerProduceCommand } from './produce.ts'
import { addSettingFlags, configFrom } from './program.ts'
import { registerRunCommand } from './run.ts'
import { registerScoreCommand } from './score.ts'
import { registerTrainCommand } from './train.ts'
import { phasedSourceInUp, runUp } from './up.ts'

const log = logger('lookout')

function buildProgram(): Command {
  const program = new Command('lookout')
    .description('Lookout: real-time anomaly and fraud detection on Apache Kafka')
    .option('--config <file>', 'JSON config file (default ./lookout.config.json when present) [LOOKOUT_CONFIG]')
    .showHelpAfterError('(run with --help for usage)')
  addSettingFlags(program, undefined)

  program
    .command('up')
    .description(
      'start the local broker (unless brokers are configured), ensure topics, run every service; Ctrl-C stops all',
    )
    .action(async (_options, command: Command) => {
      const config = configFrom(command)
      await runUp(config, [phasedSourceInUp(config)])
    })

  const broker = program.command('broker').description('manage the local Kafka broker (KRaft, 127.0.0.1)')
  broker
    .command('start')
    .description('install (once) and start the local broker in the background')
    .option(
      '--nodes <n>',
      'start a cluster of n KRaft nodes on this machine (ports broker.port, +2, +4, …; replication 3, min.insync.replicas 2)',
      '1',
    )
    .action(async (options: { nodes: string }, command: Command) => {
      const config = configFrom(command)
      const nodes = Number(options.nodes)
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9)
        throw new LookoutError(ErrorCodes.USAGE, `--nodes ${options.nodes} is not allowed`, {
          hint: 'use an integer from 1 to 9',
        })
      if (nodes > 1) {
        const cluster = await startCluster(localBrokerOptions(config), nodes)
        for (const [i, node] of cluster.nodes.entries())
          process.stdout.write(
            `node ${i + 1} ${node.started ? 'started' : 'already running'} at ${node.bootstrap} (pid ${node.pid})\n`,
          )
        process.stdout.write(
          `cluster of ${nodes} nodes running in ${(cluster.startupMs / 1000).toFixed(1)} s; use --brokers ${cluster.bootstrap.join(',')} --topics-replication-factor ${Math.min(3, nodes)}\n`,
        )
        return
      }
      const started = await startBroker(localBrokerOptions(config))
      process.stdout.write(
        `broker ${started.started ? 'started' : 'already running'} at ${started.bootstrap} (pid ${started.pid}) in ${(started.startupMs / 1000).toFixed(1)} s\n`,
      )
    })
  broker
    .command('stop')
    .description('stop the local broker (graceful, then forced after broker.stopTimeoutMs)')
    .action(async (_options, command: Command) => {
      const local = localBrokerOptions(configFrom(command))
      const nodes = await stopCluster(local)
      if (nodes) {
        for (const [i, how] of nodes.entries())
          process.stdout.write(`node ${i + 1}: ${how === 'not-running' ? 'not running' : `stopped (${how})`}\n`)
        return
      }
      const how = await stopBroker(local)
      process.stdout.write(how === 'not-running' ? 'broker is not running\n' : `broker stopped (${how})\n`)
    })
  broker
    .command('status')
    .description('show whether the local broker runs and answers')
    .action(async (_options, command: Command) => {
      const local = localBrokerOptions(configFrom(command))
      const nodes = await clusterStatus(local)
      if (nodes) {
        for (const [i, node] of nodes.entries()) {
          const state = node.running ? (node.healthy ? 'running, healthy' : 'running, not answering') : 'stopped'
          process.stdout.write(
            `node ${i + 1}: ${state}\naddress: ${node.bootstrap}\npid: ${node.pid ?? '-'}\ndirectory: ${node.directory}\nlog: ${node.logFile}\n`,
          )
        }
        if (!nodes.every((node) => node.healthy)) process.exitCode = 3
        return
      }
      const status = await brokerStatus(local)
      const state = status.running ? (status.healthy ? 'running, healthy' : 'running, not answering') : 'stopped'
      process.stdout.write(
        `broker: ${state}\naddress: ${status.bootstrap}\npid: ${status.pid ?? '-'}\ndirectory: ${status.directory}\nlog: ${status.logFile}\n`,
      )
      if (!status.healthy) process.exitCode = 3
    })

  const topics = program
    .command('topics')
    .description('list topics with partitions and end offsets')
    .action(async (_options, command: Command) => {
      const config = configFrom(command)
      const cluster = await resolveCluster(config, { startLocal: false })
      const admin = await connectAdmin(kafkaContext(config, cluster.brokers))
      try {
        const rows = await describeTopics(admin)
        const width = Math.max(5, ...rows.map((row) => row.name.length))
        process.stdout.write(`${'topic'.padEnd(width)}  partitions  end offsets (per partition)\n`)
        for (const row of rows) {
          process.stdout.write(
            `${row.name.padEnd(width)}  ${String(row.partitions).padStart(10)}  ${row.messages} (${row.endOffsets.join(', ')})\n`,
          )
        }
      } finally {
        await admin.close()
      }
    })
  topics
    .command('create')
    .description('create every Lookout topic that is missing (idempotent)')
    .action(async (_options, command: Command) => {
      const config = configFrom(command)
      const cluster = await resolveCluster(config, { startLocal: false })
      const context = kafkaContext(config, cluster.brokers)
      const admin = await connectAdmin(context)
      try {
        const created = await ensureTopics(admin, catalogueTopics(context))
        process.stdout.write(created.length ? `created ${created.join(', ')}\n` : 'all topics exist\n')
      } finally {
        await admin.close()
      }
    })

  registerRunCommand(program)
  registerProduceCommand(program)
  registerScoreCommand(program)
  registerEvalCommand(program)
  registerTrainCommand(program)
  registerModelsCommand(program)

  return program
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
  } catch (error) {
    if (isLookoutError(error)) {
      process.stderr.write(`error [${error.code}]: ${error.describe()}\n`)
      process.exitCode = error.code === 'LOOKOUT_CONFIG_INVALID' || error.code === 'LOOKOUT_CONFIG_FILE' ? 2 : 1
    } else {
      log.error('unexpected failure', {
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      })
      process.exitCode = 1
    }
    // a failed command may leave clients or servers open: end the process, not hang
    process.exit()
  }
}

await main(process.argv)

import { type Command, Option } from 'commander'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { ensureCatalogue } from '../kafka/admin.ts'
import { kafkaContext } from '../kafka/context.ts'
import { consoleUrl } from '../services/console.ts'
import { serviceDefinitions, serviceNames } from '../services/index.ts'
import { serviceDefinition, startService } from '../services/run.ts'
import { resolveCluster } from './cluster.ts'
import { configFrom } from './program.ts'
import { untilSignal } from './up.ts'

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(`run one pipeline service (${serviceNames.join(', ')}) until Ctrl-C`)
    .argument('<service>', serviceNames.join(' | '))
    .addOption(new Option('--instances <n>', 'processor instances in this process (one consumer group)').default('1'))
    .addHelpText(
      'after',
      `\nServices:\n${serviceDefinitions.map((service) => `  ${service.name.padEnd(8)} ${service.description}`).join('\n')}`,
    )
    .action(async (service: string, options: { instances: string }, command: Command) => {
      // an unknown name fails before any connection, naming the services there are
      serviceDefinition(service)
      const instances = Number(options.instances)
      if (!Number.isInteger(instances) || instances < 1 || instances > 64) {
        throw new LookoutError(ErrorCodes.CONFIG_INVALID, `invalid --instances ${JSON.stringify(options.instances)}`, {
          hint: 'use an integer from 1 to 64',
        })
      }
      const config = configFrom(command)
      const cluster = await resolveCluster(config, { startLocal: false })
      const context = kafkaContext(config, cluster.brokers)
      // the console only reads (and re-produces on request): it creates no topics on the cluster it watches
      if (service !== 'console') await ensureCatalogue(context)
      const running = await startService(service, config, context, { instances })
      if (service === 'console') process.stdout.write(`Console: ${consoleUrl(config['console.host'], running.port)}\n`)
      await untilSignal()
      await running.stop()
    })
}

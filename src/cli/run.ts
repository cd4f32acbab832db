import { type Command, Option } from 'commander'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { ensureCatalogue } from '../kafka/admin.ts'
import { kafkaContext } from '../kafka/context.ts'
import { type PipelineService, pipelineServices, startService } from '../services/run.ts'
import { resolveCluster } from './cluster.ts'
import { configFrom } from './program.ts'
import { untilSignal } from './up.ts'

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(`run one pipeline service (${pipelineServices.join(', ')}) until Ctrl-C`)
    .argument('<service>', pipelineServices.join(' | '))
    .addOption(new Option('--instances <n>', 'processor instances in this process (one consumer group)').default('1'))
    .action(async (service: string, options: { instances: string }, command: Command) => {
      if (!(pipelineServices as readonly string[]).includes(service)) {
        throw new LookoutError(ErrorCodes.USAGE, `unknown service "${service}"`, {
          hint: `use one of: ${pipelineServices.join(', ')}`,
        })
      }
      const instances = Number(options.instances)
      if (!Number.isInteger(instances) || instances < 1 || instances > 64) {
        throw new LookoutError(ErrorCodes.CONFIG_INVALID, `invalid --instances ${JSON.stringify(options.instances)}`, {
          hint: 'use an integer from 1 to 64',
        })
      }
      const config = configFrom(command)
      const cluster = await resolveCluster(config, { startLocal: false })
      const context = kafkaContext(config, cluster.brokers)
      await ensureCatalogue(context)
      const running = await startService(service as PipelineService, config, context, { instances })
      await untilSignal()
      await running.stop()
    })
}

import type { Command } from 'commander'
import { ruleOptionsFrom } from '../core/kinds.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { type EvalSource, evalSources, formatEvalTable, runEval } from '../offline/eval.ts'
import { driftEvalDefaults, runDriftEval } from '../offline/eval-drift.ts'
import { fileEvalJson, formatFileEvalTable, runFileEval } from '../offline/eval-file.ts'
import { configFrom } from './program.ts'

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < min || value > max)
    throw new LookoutError(
      ErrorCodes.USAGE,
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`,
      { hint: `see lookout eval --help` },
    )
  return value
}

function share(name: string, text: string, max: number): number {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > max)
    throw new LookoutError(ErrorCodes.USAGE, `${name} must be a number from 0 to ${max}, got ${JSON.stringify(text)}`, {
      hint: `see lookout eval --help`,
    })
  return value
}

/** `lookout eval`: the quality report of every detector against a labelled source. */
export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description(
      'run a labelled source through enrich and score in process (no Kafka) and print precision, recall, F1 and PR-AUC of every detector and the ensemble, per phase and overall',
    )
    .option('--source <name>', `labelled source: ${evalSources.join(', ')}`, 'phased')
    .option(
      '--input <file>',
      'a labelled CSV or JSON Lines file of your own events instead of a source, in file order (a CSV with header x0..xN,label needs no schema)',
    )
    .option(
      '--schema <file|name>',
      'with --input: the event schema (a schema file, or a schema declared in the config)',
    )
    .option('--label <field>', "with --input: the label field (0/1 or boolean), instead of the schema's")
    .option('--train-fraction <x>', 'with --input: the first share of rows trains the Isolation Forest', '0.2')
    .option('--events <n>', 'events in all, training window included (250000 = one phased cycle)', '250000')
    .option('--from <n>', 'event number of the first event', '0')
    .option('--train-events <n>', 'the first n events train the Isolation Forest (0 = none)', '20000')
    .option('--seed <n>', 'seed of the source and of the forest', '42')
    .option(
      '--partitions <n>',
      'partitions of enriched-features to reproduce (default: topics.partitions; with --drift: 1, one scorer and one drift monitor for the whole stream)',
    )
    .option('--json', 'also print the report as one JSON object on the last line')
    .option(
      '--drift',
      'phased source through enrich → score → drift detectors → retrain → hot swap (default 500000 events): detection delays, false drifts, F1 around retrains',
    )
    .option(
      '--detection-allowance <n>',
      'with --drift: a transition must be detected within n events; drifts outside them are false',
      String(driftEvalDefaults.detectionAllowance),
    )
    .option(
      '--max-false-drifts <n>',
      'with --drift: target of at most n false drifts per 100,000 stable events',
      String(driftEvalDefaults.maxFalseDriftsPer100k),
    )
    .option('--f1-window <n>', 'with --drift: events per F1 window', String(driftEvalDefaults.window))
    .option(
      '--recovery-share <x>',
      'with --drift: target of F1 back to this share of its pre-drift level after a retrain',
      String(driftEvalDefaults.recoveryShare),
    )
    .option(
      '--recovery-within <n>',
      'with --drift: ... within n events of the promotion',
      String(driftEvalDefaults.recoveryWithin),
    )
    .action(async (options: Record<string, string | boolean | undefined>, command: Command) => {
      const config = configFrom(command)
      if (typeof options.input === 'string') {
        const report = await runFileEval({
          input: options.input,
          ...(typeof options.schema === 'string' ? { schema: options.schema } : {}),
          declared: config.schemas,
          ...(typeof options.label === 'string' ? { label: options.label } : {}),
          trainFraction: share('--train-fraction', String(options.trainFraction), 0.99),
          threshold: config['score.threshold'],
          partitions:
            typeof options.partitions === 'string'
              ? integer('--partitions', options.partitions, 1, 10_000)
              : config['topics.partitions'],
          seed: integer('--seed', String(options.seed), 0, 2 ** 31 - 1),
        })
        process.stdout.write(formatFileEvalTable(report))
        if (options.json) process.stdout.write(`${fileEvalJson(report)}\n`)
        return
      }
      if (typeof options.schema === 'string' || typeof options.label === 'string')
        throw new LookoutError(ErrorCodes.USAGE, '--schema and --label go with --input', {
          hint: 'lookout eval --input FILE [--schema FILE|NAME] [--label FIELD]',
        })
      if (options.drift) {
        const events = command.getOptionValueSource('events') === 'default' ? '500000' : String(options.events)
        await runDriftEval({
          events: integer('--events', events, 1_000, 100_000_000),
          seed: integer('--seed', String(options.seed), 0, 2 ** 31 - 1),
          bootstrapEvents: integer('--train-events', String(options.trainEvents), 0, 100_000_000),
          threshold: config['score.threshold'],
          partitions:
            typeof options.partitions === 'string' ? integer('--partitions', options.partitions, 1, 10_000) : 1,
          rules: ruleOptionsFrom(config),
          detectionAllowance: integer('--detection-allowance', String(options.detectionAllowance), 1, 100_000_000),
          maxFalseDriftsPer100k: share('--max-false-drifts', String(options.maxFalseDrifts), 100_000),
          window: integer('--f1-window', String(options.f1Window), 10, 100_000_000),
          recoveryShare: share('--recovery-share', String(options.recoveryShare), 1),
          recoveryWithin: integer('--recovery-within', String(options.recoveryWithin), 1, 100_000_000),
          monitor: {
            cooldownEvents: config['drift.cooldownEvents'],
            trainWindowEvents: config['drift.trainWindowEvents'],
          },
          trainEvents: config['train.windowEvents'],
          shadow: {
            minLabelled: config['models.shadowMinLabelled'],
            promoteAfterEvents: config['models.shadowPromoteAfterEvents'],
          },
          json: options.json === true,
        })
        return
      }
      const source = String(options.source)
      if (!(evalSources as readonly string[]).includes(source))
        throw new LookoutError(ErrorCodes.USAGE, `unknown source ${JSON.stringify(source)}`, {
          hint: `use one of ${evalSources.join(', ')}`,
        })
      const events = integer('--events', String(options.events), 2, 100_000_000)
      const report = runEval({
        source: source as EvalSource,
        events,
        from: integer('--from', String(options.from), 0, Number.MAX_SAFE_INTEGER),
        trainEvents: integer('--train-events', String(options.trainEvents), 0, events - 1),
        seed: integer('--seed', String(options.seed), 0, 2 ** 31 - 1),
        threshold: config['score.threshold'],
        rules: ruleOptionsFrom(config),
        partitions:
          typeof options.partitions === 'string'
            ? integer('--partitions', options.partitions, 1, 10_000)
            : config['topics.partitions'],
      })
      process.stdout.write(formatEvalTable(report))
      if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`)
    })
}

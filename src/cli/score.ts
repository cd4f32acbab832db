import { type Command, Option } from 'commander'
import { registerSchema, ruleOptionsFrom } from '../core/kinds.ts'
import { compileSchema } from '../core/schemas/compile.ts'
import { registerSchemas } from '../core/schemas/index.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { resolveSchema } from '../offline/eval-file.ts'
import { loadModelFile, scoreFile } from '../offline/offline.ts'
import { configFrom } from './program.ts'

function positiveInteger(name: string, text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1 || value > 10_000)
    throw new LookoutError(
      ErrorCodes.USAGE,
      `${name} must be an integer from 1 to 10000, got ${JSON.stringify(text)}`,
      {
        hint: `pass ${name} with the partition count of enriched-features`,
      },
    )
  return value
}

/** `lookout score`: offline scoring (backtesting) of a file with the stream's code path. */
export function registerScoreCommand(program: Command): void {
  program
    .command('score')
    .description(
      'score a file offline exactly as the stream would: events (JSON Lines or CSV) through enrich and the per-partition scorers, or a timestamp,value series through the series detector; writes every row with an added anomaly_score in [0, 1]',
    )
    .requiredOption('--input <file>', 'events (.jsonl, or .csv with event fields as columns) or a timestamp,value CSV')
    .requiredOption('--output <file>', 'where to write the rows with anomaly_score (same format as the input)')
    .option('--series', 'treat the CSV as one univariate timestamp,value series (default: detected from the header)')
    .option('--partitions <n>', 'partitions of enriched-features to reproduce (default: topics.partitions)')
    .option('--model <file>', 'Isolation Forest artifact to score with, as the live model (default: none)')
    .option(
      '--schema <file|name>',
      'the rows are events of a declared schema (a schema file, or a schema declared in the config)',
    )
    .option('--details', "add each detector's calibrated score and the rules that fired")
    .option('--skip-invalid', 'write malformed rows to a side file and go on (default: stop at the first one)')
    .addOption(new Option('--rejected <file>', 'side file for --skip-invalid (default: <output>.rejected.jsonl)'))
    .action(async (options: Record<string, string | boolean | undefined>, command: Command) => {
      const config = configFrom(command)
      const partitions =
        typeof options.partitions === 'string'
          ? positiveInteger('--partitions', options.partitions)
          : config['topics.partitions']
      registerSchemas(config.schemas)
      const schema =
        typeof options.schema === 'string'
          ? compileSchema(resolveSchema(options.schema, config.schemas).declaration)
          : undefined
      if (schema) registerSchema(schema)
      const model = typeof options.model === 'string' ? loadModelFile(options.model) : undefined
      const summary = await scoreFile({
        input: String(options.input),
        output: String(options.output),
        ...(options.series ? { series: true } : {}),
        partitions,
        ...(model ? { model } : {}),
        ...(schema ? { schema } : {}),
        details: Boolean(options.details),
        skipInvalid: Boolean(options.skipInvalid),
        ...(typeof options.rejected === 'string' ? { rejectedPath: options.rejected } : {}),
        threshold: config['score.threshold'],
        rules: ruleOptionsFrom(config),
      })
      const rate = summary.seconds > 0 ? Math.round(summary.scored / summary.seconds) : summary.scored
      const how =
        summary.mode === 'series'
          ? 'series detector'
          : `${partitions} partition${partitions === 1 ? '' : 's'}, ${model ? `model ${model.version} (${model.kind})` : 'no model'}`
      process.stdout.write(
        `scored ${summary.scored.toLocaleString('en-US')} of ${summary.rows.toLocaleString('en-US')} rows (${summary.format}, ${how}) in ${summary.seconds.toFixed(2)} s (${rate.toLocaleString('en-US')} rows/s) → ${options.output}\n` +
          `${summary.flagged.toLocaleString('en-US')} rows at or above ${config['score.threshold']} (score.threshold)\n` +
          (summary.rejectedPath
            ? `${summary.rejected.toLocaleString('en-US')} malformed rows → ${summary.rejectedPath}\n`
            : ''),
      )
    })
}

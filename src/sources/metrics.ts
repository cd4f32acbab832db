// The machine-metrics source: a CPU-like generated series, or with --input the
// replay of a timestamp,value CSV in time order at --speed (or at --rate).

import type { MetricSample } from '../core/events.ts'
import { MetricGenerator, parseMetricSeries } from '../core/sources/metrics.ts'
import type { RowError } from '../core/sources/row-error.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { readInput, s3SettingsOf } from './input.ts'
import { type PreparedSource, pacingFrom, type SourceDefinition } from './source.ts'

/** Rows with errors printed one per line before the run; the rest only counted. */
export const rowErrorsShown = 20

export function reportRowErrors(log: { warn(message: string): void }, location: string, errors: readonly RowError[]) {
  for (const error of errors.slice(0, rowErrorsShown))
    log.warn(`${location} row ${error.row}: ${error.reason} (skipped)`)
  if (errors.length > rowErrorsShown)
    log.warn(`${location}: ${errors.length - rowErrorsShown} more invalid rows skipped`)
}

interface LoadedSeries {
  samples: MetricSample[] | undefined
  invalid: number
}

export const metricsSource: SourceDefinition<LoadedSeries> = {
  name: 'metrics',
  description:
    'a CPU-utilisation-like metric series (level, daily cycle, noise, spikes, shifts), or --input series.csv replayed in time order',
  sections: ['metrics'],
  async load(config, log) {
    const input = config['source.input']
    if (!input) return { samples: undefined, invalid: 0 }
    const text = await readInput(input, s3SettingsOf(config))
    const parsed = parseMetricSeries(text, { host: config['metrics.host'] })
    reportRowErrors(log, input, parsed.errors)
    if (parsed.samples.length === 0) {
      throw new LookoutError(
        ErrorCodes.INPUT_INVALID,
        `${input} holds no valid timestamp,value rows (${parsed.errors.length} invalid)`,
        {
          hint: 'give a CSV with a timestamp (ISO-8601 or Unix epoch) and a numeric value per row, e.g. "2024-01-01T00:00:00Z,41.5"',
        },
      )
    }
    log.info(`loaded ${parsed.samples.length} samples from ${input}`, { invalid: parsed.errors.length })
    return { samples: parsed.samples, invalid: parsed.errors.length }
  },
  async prepare(loaded, kafka): Promise<PreparedSource> {
    const config = kafka.config
    const host = config['metrics.host']
    if (loaded.samples) {
      const samples = loaded.samples
      let index = 0
      return {
        pacing: pacingFrom(config, { kind: 'eventTime', speed: config['source.speed'] }),
        summaryExtras: () => [
          `  series rows skipped as invalid ${loaded.invalid}`,
          `  series replayed ${index}/${samples.length}`,
        ],
        events: {
          next() {
            const sample = samples[index]
            if (sample === undefined) return undefined
            index++
            return { key: sample.host, value: sample }
          },
          nextEventTimeMs: () => {
            const sample = samples[index]
            return sample === undefined ? undefined : Date.parse(sample.timestamp)
          },
        },
      }
    }
    // a fixed start keeps the series (timestamps included) the same for the same seed
    const generator = new MetricGenerator({ seed: config['source.seed'], startTimeMs: Date.UTC(2025, 0, 1), host })
    return {
      pacing: pacingFrom(config, { kind: 'rate', eventsPerSecond: 100 }),
      events: { next: () => ({ key: host, value: generator.next() }) },
    }
  },
}

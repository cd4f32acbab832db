// Features of a machine-metric sample, per host + metric.
//
// The level is an exponentially weighted moving average on event time: a sample `dt` after
// the previous one moves the level by α = 1 − 2^(−dt / halfLife) (at least `minAlpha`, so
// samples with equal or late timestamps still count a little). The deviation is the sample's
// residual from the level before it, as a robust z-score against the last 32 residuals.
// A late sample (earlier than the newest seen) gets rate 0 and a 0 gap.

import type { MetricSample } from '../events.ts'
import { hourCos, hourSin, secondsSince, utcHourOfDay } from './event-time.ts'
import type { FeatureExtractor } from './extractor.ts'
import { allocateFeatures } from './feature-vector.ts'
import { type RecentValuesState, recentPush, robustZScore } from './recent-values.ts'
import { defineSchema } from './schema.ts'

export const metricSchema = defineSchema([
  'value',
  /** EWMA level before this sample; the value itself for the first. */
  'level',
  /** (residual − median residual) / robust scale over the last 32 residuals; 0 before five. */
  'deviation_robust',
  /** (value − previous value) / seconds between them; 0 for the first or a late sample. */
  'rate_per_second',
  'seconds_since_last',
  'hour_sin',
  'hour_cos',
] as const)

export interface MetricState {
  readonly v: 1
  readonly level: number
  /** Newest sample time seen, ms. */
  readonly latest: number
  /** Value of the sample at `latest`. */
  readonly last: number
  /** Residuals (value − level before it), oldest first. */
  readonly residuals: RecentValuesState
}

export interface MetricExtractorOptions {
  /** Half-life of the level, ms of event time. Default 15 minutes. */
  readonly levelHalfLifeMs?: number
  /** Smallest weight a sample gets in the level. Default 0.01. */
  readonly minAlpha?: number
}

export const metricEntityKey = (event: MetricSample): string => `${event.host}/${event.metric}`

export function createMetricExtractor(
  options: MetricExtractorOptions = {},
): FeatureExtractor<MetricSample, MetricState> {
  const halfLife = options.levelHalfLifeMs ?? 15 * 60_000
  const minAlpha = options.minAlpha ?? 0.01
  return (event, state, t) => {
    const before = state?.v === 1 ? state : undefined
    const value = event.value
    const level = before?.level ?? value
    const residual = value - level
    const dtMs = before === undefined ? 0 : t - before.latest
    const hour = utcHourOfDay(t)

    const at = metricSchema.at
    const f = allocateFeatures(metricSchema.names.length)
    f[at.value] = value
    f[at.level] = level
    f[at.deviation_robust] = robustZScore(before?.residuals, residual, 0)
    f[at.rate_per_second] = dtMs > 0 ? ((value - before!.last) * 1000) / dtMs : 0
    f[at.seconds_since_last] = secondsSince(before?.latest, t)
    f[at.hour_sin] = hourSin(hour)
    f[at.hour_cos] = hourCos(hour)

    if (before === undefined) {
      return { features: f, nextState: { v: 1, level: value, latest: t, last: value, residuals: [] } }
    }
    const alpha = Math.max(minAlpha, dtMs > 0 ? 1 - 2 ** (-dtMs / halfLife) : 0)
    const newest = t >= before.latest
    return {
      features: f,
      nextState: {
        v: 1,
        level: level + alpha * residual,
        latest: newest ? t : before.latest,
        last: newest ? value : before.last,
        residuals: recentPush(before.residuals, residual, 0),
      },
    }
  }
}

export const extractMetric = createMetricExtractor()

// Every topic Lookout uses, by logical name. Actual names carry the configured prefix.

export interface TopicSpec {
  /** Logical name; the actual topic is `${prefix}${name}`. */
  readonly name: string
  readonly description: string
  /** Compacted topics keep the latest value per key (state changelogs, model versions). */
  readonly compacted: boolean
}

export const topicCatalogue = {
  rawTransactions: {
    name: 'raw-transactions',
    description: 'events from the sources, keyed by entity',
    compacted: false,
  },
  enrichedFeatures: { name: 'enriched-features', description: 'events with per-entity features', compacted: false },
  anomalyScores: { name: 'anomaly-scores', description: 'every scored event', compacted: false },
  anomalies: { name: 'anomalies', description: 'scored events over the threshold', compacted: false },
  alerts: { name: 'alerts', description: 'de-duplicated alerts with severity', compacted: false },
  driftEvents: { name: 'drift-events', description: 'detected concept drift', compacted: false },
  retrainingTriggers: { name: 'retraining-triggers', description: 'requests to retrain a model', compacted: false },
  phaseTransitions: { name: 'phase-transitions', description: 'phase changes of the phased source', compacted: false },
  labels: {
    name: 'labels',
    description: 'analyst feedback: true/false-positive marks on alerted events, keyed by entity',
    compacted: false,
  },
  alertSuppressions: {
    name: 'alert-suppressions',
    description: 'entities whose alerts are suppressed after false-positive marks, keyed by entity',
    compacted: true,
  },
  deadLetters: { name: 'dead-letters', description: 'records that could not be parsed or validated', compacted: false },
  modelVersions: { name: 'model-versions', description: 'model registry: one record per version', compacted: true },
  windowAggregates: { name: 'window-aggregates', description: 'event-time window aggregations', compacted: false },
  lateEvents: {
    name: 'late-events',
    description: 'events that came after a window closed, with the window they missed',
    compacted: false,
  },
  aggregateRepartition: {
    name: 'aggregate-repartition',
    description: 'payments re-keyed by aggregation and group, with input-partition watermark marks (aggregate)',
    compacted: false,
  },
} as const satisfies Record<string, TopicSpec>

export type TopicKey = keyof typeof topicCatalogue

export function topicName(prefix: string, key: TopicKey): string {
  return `${prefix}${topicCatalogue[key].name}`
}

/** The changelog of a processor's state store (compacted). */
export function changelogTopic(prefix: string, application: string, store: string): string {
  return `${prefix}${application}-${store}-changelog`
}

/** Topic-level configs Lookout sets when it creates a topic. */
export function topicConfigs(spec: Pick<TopicSpec, 'compacted'>): { name: string; value: string }[] {
  return spec.compacted
    ? [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'min.compaction.lag.ms', value: '0' },
        { name: 'segment.ms', value: '600000' },
      ]
    : [{ name: 'cleanup.policy', value: 'delete' }]
}

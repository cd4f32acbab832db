import { aggregationsSetting, type DeclaredAggregation } from './aggregations.ts'
import { kinds, setting } from './setting.ts'

// Settings of the pipeline services (enrich, score, alert, ...).

function postgresUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== ''
  } catch {
    return false
  }
}
const port = (service: string, value: number) =>
  setting({
    description: `HTTP port of the ${service} service (/health, /metrics)`,
    schema: kinds.integer(0, 65_535),
    allowed: 'an integer from 0 to 65535 (0 = any free port)',
    default: value,
  })

export const serviceSettings = {
  'enrich.port': port('enrich', 8002),
  'score.port': port('score', 8003),
  'drift.port': port('drift', 8004),
  'train.port': port('train', 8005),
  'alert.port': port('alert', 8006),
  'aggregate.port': port('aggregate', 8007),
  'console.port': setting({
    description: 'HTTP port of the web console (its API, /health and /metrics)',
    schema: kinds.integer(0, 65_535),
    allowed: 'an integer from 0 to 65535 (0 = any free port)',
    default: 8080,
  }),
  'console.host': setting({
    description: 'address the web console listens on (0.0.0.0 = every interface)',
    schema: kinds.text(),
    allowed: 'an IP address or host name',
    default: '127.0.0.1',
  }),
  'console.token': setting({
    description:
      'token for console actions that change something (re-produce, alert actions, model promotion and rollback); empty = a random one generated and printed at start',
    schema: kinds
      .optionalText()
      .refine((v) => v === '' || /^[\x21-\x7e]{16,256}$/.test(v), 'must be 16 to 256 printable characters'),
    allowed: '16 to 256 printable ASCII characters, or empty',
    default: '',
  }),
  'console.databaseUrl': setting({
    description:
      'PostgreSQL database of the alert store (alerts, their state, verdicts and audit trail); empty = embedded SQLite, alerts.db in dataDir',
    schema: kinds
      .optionalText()
      .refine((v) => v === '' || postgresUrl(v), 'must be a postgres://user:password@host:port/database URL'),
    allowed: 'a postgres:// or postgresql:// URL, or empty',
    default: '',
  }),
  'console.maxScan': setting({
    description: 'most records one console browse, filter or find-by-key request reads',
    schema: kinds.integer(100, 10_000_000),
    allowed: 'an integer from 100 to 10000000',
    default: 100_000,
  }),
  'score.threshold': setting({
    description:
      'combined score at or above which an event goes to the anomalies topic (0.999 ≈ the top 0.1% of recent traffic, plus every rule hit)',
    schema: kinds.number(0, 1),
    allowed: 'a number from 0 to 1',
    default: 0.999,
  }),
  'score.checkpointEvents': setting({
    description: "events between checkpoints of a partition's detector state to its changelog",
    schema: kinds.integer(100, 10_000_000),
    allowed: 'an integer from 100 to 10000000',
    default: 20_000,
  }),
  'score.highValueAmount': setting({
    description:
      'payment rule high_value_burst: a payment above this amount is high-value (the rule fires on the high-value payment that completes a burst, so one burst alerts once)',
    schema: kinds.number(0, Number.MAX_SAFE_INTEGER),
    allowed: 'a number of 0 or more',
    default: 1_000_000,
  }),
  'score.highValueCount': setting({
    description: "payment rule high_value_burst: high-value payments among a customer's last 10 that make a burst",
    schema: kinds.integer(1, 10),
    allowed: 'an integer from 1 to 10',
    default: 3,
  }),
  'score.rapidFireCount': setting({
    description:
      "payment rule rapid_fire: this many of a customer's last 10 payments, the current one included, in one of the customer's velocity windows that contain it (the aggregate service's customer-velocity windows)",
    schema: kinds.integer(2, 10),
    allowed: 'an integer from 2 to 10',
    default: 5,
  }),
  'score.rapidFireWindowMs': setting({
    description:
      'payment rule rapid_fire and the customer-velocity aggregation: the length of a velocity window of event time (ms)',
    schema: kinds.integer(1, 86_400_000),
    allowed: 'an integer from 1 to 86400000',
    default: 60_000,
  }),
  'drift.cooldownEvents': setting({
    description:
      'events of a stream (per partition) after a published drift during which further detections publish nothing, so one shift raises one drift and one trigger',
    schema: kinds.integer(0, 10_000_000),
    allowed: 'an integer from 0 to 10000000',
    default: 20_000,
  }),
  'drift.trainWindowEvents': setting({
    description: 'events of a stream (per partition) collected after a drift before the retraining trigger is sent',
    schema: kinds.integer(1, 10_000_000),
    allowed: 'an integer from 1 to 10000000',
    default: 5_000,
  }),
  'train.windowEvents': setting({
    description:
      "newest enriched events (all partitions) the trainer reads up to a trigger's end; the newest 20% are held out to compare the candidate with the live model",
    schema: kinds.integer(100, 10_000_000),
    allowed: 'an integer from 100 to 10000000',
    default: 20_000,
  }),
  'models.shadowMinLabelled': setting({
    description:
      'labelled events a shadow model scores beside the live one before it is promoted (ROC-AUC at least the live one) or rejected',
    schema: kinds.integer(10, 10_000_000),
    allowed: 'an integer from 10 to 10000000',
    default: 2_000,
  }),
  'models.shadowPromoteAfterEvents': setting({
    description:
      'promote a shadow model after this many events when too few labelled events arrive; 0 = never automatically (lookout models promote)',
    schema: kinds.integer(0, 100_000_000),
    allowed: 'an integer from 0 to 100000000',
    default: 0,
  }),
  'aggregate.aggregations': setting({
    description:
      'aggregations declared besides the built-in ones (config file: a list of {name, kind, key, sizeMs, slideMs, aggregates, filter, emit, graceMs}; see Windowed aggregations)',
    schema: aggregationsSetting('aggregate.aggregations'),
    allowed:
      'a JSON list of aggregations over the fields of an event kind (kind: payment by default, another built-in kind or a declared schema), e.g. [{"name": "approved-by-method", "key": "payment_method", "sizeMs": 60000, "aggregates": ["count", "sum:amount"], "filter": "status = approved"}]',
    default: [] as DeclaredAggregation[],
  }),
  'aggregate.latenessMs': setting({
    description:
      "allowed lateness (ms): an input partition's watermark is the largest event time seen there minus this",
    schema: kinds.integer(0, 86_400_000),
    allowed: 'an integer from 0 to 86400000',
    default: 10_000,
  }),
  'aggregate.graceMs': setting({
    description:
      "grace period (ms): a window closes when the watermark passes its end plus this (an aggregation's graceMs overrides it)",
    schema: kinds.integer(0, 86_400_000),
    allowed: 'an integer from 0 to 86400000',
    default: 0,
  }),
  'aggregate.idleTimeoutMs': setting({
    description:
      'an input partition that sends nothing for this long (wall clock, ms) stops holding the watermark back; when all are idle the watermark follows the wall clock, so the last windows close',
    schema: kinds.integer(100, 86_400_000),
    allowed: 'an integer from 100 to 86400000',
    default: 30_000,
  }),
  'aggregate.maxOpenWindows': setting({
    description:
      'most open windows per partition; beyond it the earliest windows are closed early (metric aggregate_windows_closed_total{by="cap"})',
    schema: kinds.integer(10, 100_000_000),
    allowed: 'an integer from 10 to 100000000',
    default: 1_000_000,
  }),
  'processor.maxBatch': setting({
    description: 'most records a processor handles in one transaction',
    schema: kinds.integer(1, 100_000),
    allowed: 'an integer from 1 to 100000',
    default: 5_000,
  }),
  'processor.maxWaitMs': setting({
    description:
      'how long a processor waits for more records after a batch’s first one (ms); 0: none, the records that come while a batch is processed form the next',
    schema: kinds.integer(0, 10_000),
    allowed: 'an integer from 0 to 10000',
    default: 0,
  }),
  'processor.slowBatchMs': setting({
    description:
      'a batch that takes at least this long (ms) is logged (warn "slow batch") with where its time went: assignment, process, begin, send, offsets, commit; 0: every batch',
    schema: kinds.integer(0, 3_600_000),
    allowed: 'an integer from 0 to 3600000',
    default: 500,
  }),
  'alert.dedupWindowSeconds': setting({
    description: 'an entity with an open alert gets no new one within this many seconds of event time',
    schema: kinds.integer(0, 86_400 * 7),
    allowed: 'an integer from 0 to 604800',
    default: 300,
  }),
  'alert.maxPerEntityPerHour': setting({
    description: 'most alerts per entity per hour of event time; the rest are counted as suppressed',
    schema: kinds.integer(1, 100_000),
    allowed: 'an integer from 1 to 100000',
    default: 3,
  }),
  'alert.suppressAfterFalsePositives': setting({
    description:
      'an entity whose alerts were marked false positive this many times raises no alerts for alert.suppressForSeconds (0 = never)',
    schema: kinds.integer(0, 10_000),
    allowed: 'an integer from 0 to 10000',
    default: 3,
  }),
  'alert.suppressForSeconds': setting({
    description: 'how long a suppression by false-positive marks lasts, from the mark that started it (seconds)',
    schema: kinds.integer(1, 86_400 * 90),
    allowed: 'an integer from 1 to 7776000 (90 days)',
    default: 3_600,
  }),
  'alert.console': setting({
    description: 'print alerts on the console',
    schema: kinds.boolean(),
    allowed: 'true or false',
    default: true,
  }),
  'alert.webhookUrl': setting({
    description: 'generic webhook: each alert is POSTed as JSON (empty = off)',
    schema: kinds
      .optionalText()
      .refine((v) => v === '' || /^https?:\/\//.test(v), 'must start with http:// or https://'),
    allowed: 'an http(s) URL, or empty',
    default: '',
  }),
  'alert.slackWebhookUrl': setting({
    description: 'Slack incoming-webhook URL (empty = off)',
    schema: kinds
      .optionalText()
      .refine((v) => v === '' || /^https?:\/\//.test(v), 'must start with http:// or https://'),
    allowed: 'an http(s) URL, or empty',
    default: '',
  }),
  'alert.slackToken': setting({
    description: 'Slack bot token for chat.postMessage (with alert.slackChannel; empty = off)',
    schema: kinds.optionalText(),
    allowed: 'a Slack bot token (xoxb-…), or empty',
    default: '',
  }),
  'alert.slackChannel': setting({
    description: 'Slack channel for the bot token',
    schema: kinds.optionalText(),
    allowed: 'a channel id or name, or empty',
    default: '',
  }),
  'alert.slackApiUrl': setting({
    description: 'Slack Web API base URL',
    schema: kinds.text().regex(/^https?:\/\//, 'must start with http:// or https://'),
    allowed: 'an http(s) URL',
    default: 'https://slack.com/api',
  }),
  'alert.retryMaxMs': setting({
    description: 'longest wait between delivery attempts to a failing sink (ms); attempts never stop',
    schema: kinds.integer(100, 3_600_000),
    allowed: 'an integer from 100 to 3600000',
    default: 60_000,
  }),
} as const

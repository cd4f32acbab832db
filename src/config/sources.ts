import { z } from 'zod'
import { kinds, setting } from './setting.ts'

// Settings of `lookout produce <source>`. `commands: ['produce']` makes each one a flag of every
// source; the source's --help says which ones it reads.

const produce = ['produce'] as const

/** `--rate`: a positive number of events per second, or `max` for unthrottled. */
const rateKind = z.union([
  z.literal('max'),
  z.coerce
    .number()
    .refine((value) => value > 0 && value <= 10_000_000, { message: 'must be above 0 and at most 10000000' }),
])
export type RateSetting = number | 'max' | undefined

export const sourceSettings = {
  'source.seed': setting({
    description: 'seed of the source generator',
    schema: kinds.integer(0, 2 ** 31 - 1),
    allowed: 'an integer from 0 to 2147483647',
    default: 42,
    commands: produce,
    flag: 'seed',
  }),
  'source.rate': setting({
    description:
      'events per second, or "max" for unthrottled; unset = the source default (phased, points, metrics: 100/s; payments: Poisson, 100/min base; replay: preset batches)',
    schema: rateKind.optional() as z.ZodType<RateSetting>,
    allowed: 'a number above 0 (events per second), or max for unthrottled',
    default: undefined as RateSetting,
    commands: produce,
    flag: 'rate',
  }),
  'source.speed': setting({
    description:
      'replay-speed factor for simulated event time (payments arrivals, metrics --input): 60 = one simulated minute per second',
    schema: kinds.number(0.000001, 1e9),
    allowed: 'a number above 0',
    default: 1,
    commands: produce,
    flag: 'speed',
  }),
  'source.count': setting({
    description:
      'stop after this many events (not counting a backfill), print the summary and exit; 0 = run until stopped',
    schema: kinds.integer(0, Number.MAX_SAFE_INTEGER),
    allowed: 'an integer of 0 or more',
    default: 0,
    commands: produce,
    flag: 'count',
  }),
  'source.topic': setting({
    description: 'topic to produce to; empty = raw-transactions (with topics.prefix)',
    schema: kinds.optionalText().regex(/^[a-zA-Z0-9._-]*$/, 'only letters, digits, ".", "_" and "-"'),
    allowed: 'a topic name: letters, digits, ".", "_" and "-"',
    default: '',
    commands: produce,
    flag: 'topic',
  }),
  'source.port': setting({
    description: 'port of the source /health and /metrics server on 127.0.0.1; 0 = any free port',
    schema: kinds.integer(0, 65_535),
    allowed: 'an integer from 0 to 65535',
    default: 8001,
    commands: produce,
    flag: 'port',
  }),
  'source.inFlight': setting({
    description: 'produce requests in flight at once (bounds memory; more overlaps network round trips)',
    schema: kinds.integer(1, 64),
    allowed: 'an integer from 1 to 64',
    default: 4,
    commands: produce,
    flag: 'in-flight',
  }),

  'phased.resume': setting({
    description:
      'phased: continue after the last event number this seed produced to the topic, so users keep their running averages',
    schema: kinds.boolean(),
    allowed: 'true or false',
    default: true,
    commands: produce,
    flag: 'resume',
  }),

  'payments.initMode': setting({
    description: 'payments: flush = empty the topic, then backfill; skip = no backfill, stream only',
    schema: kinds.oneOf(['flush', 'skip']),
    allowed: 'flush or skip',
    default: 'skip' as 'flush' | 'skip',
    commands: produce,
    flag: 'init-mode',
  }),
  'payments.backfill': setting({
    description: 'payments: events of the backfill (init mode flush), spread over the past 7 days',
    schema: kinds.integer(0, 100_000_000),
    allowed: 'an integer from 0 to 100000000',
    default: 20_000,
    commands: produce,
    flag: 'backfill',
  }),
  'payments.peakFactor': setting({
    description: 'payments: arrival rate multiplier between 09:00 and 18:00 (simulated UTC)',
    schema: kinds.number(0.000001, 1_000),
    allowed: 'a number above 0, at most 1000',
    default: 2.5,
    commands: produce,
    flag: 'peak-factor',
  }),
  'payments.fraudRate': setting({
    description: 'payments: share of fraudulent payments',
    schema: kinds.number(0, 0.5),
    allowed: 'a number from 0 to 0.5',
    default: 0.02,
    commands: produce,
    flag: 'fraud-rate',
  }),
  'payments.declinedRate': setting({
    description: 'payments: share of declined payments',
    schema: kinds.number(0, 1),
    allowed: 'a number from 0 to 1',
    default: 0.05,
    commands: produce,
    flag: 'declined-rate',
  }),
  'payments.merchants': setting({
    description: 'payments: number of merchants',
    schema: kinds.integer(1, 1_000_000),
    allowed: 'an integer from 1 to 1000000',
    default: 50,
    commands: produce,
    flag: 'merchants',
  }),
  'payments.customers': setting({
    description: 'payments: number of customers',
    schema: kinds.integer(1, 10_000_000),
    allowed: 'an integer from 1 to 10000000',
    default: 1_000,
    commands: produce,
    flag: 'customers',
  }),

  'source.input': setting({
    description:
      'replay: dataset to load (CSV or JSON Lines); metrics: a timestamp,value CSV to replay in time order; a local path or s3://bucket/key',
    schema: kinds.optionalText(),
    allowed: 'a file path or s3://bucket/key',
    default: '',
    commands: produce,
    flag: 'input',
  }),
  'replay.format': setting({
    description: 'replay: dataset format; auto = from the extension (.csv, .jsonl, .ndjson)',
    schema: kinds.oneOf(['auto', 'csv', 'jsonl']),
    allowed: 'auto, csv or jsonl',
    default: 'auto' as 'auto' | 'csv' | 'jsonl',
    commands: produce,
    flag: 'format',
  }),
  'replay.preset': setting({
    description: 'replay: batch preset: high (0.2 s, 10–20), normal (0.5 s, 1–10), low (2 s, 1–5)',
    schema: kinds.oneOf(['high', 'normal', 'low']),
    allowed: 'high, normal or low',
    default: 'normal' as 'high' | 'normal' | 'low',
    commands: produce,
    flag: 'preset',
  }),
  'replay.interval': setting({
    description: 'replay: seconds between batches; 0 = the preset',
    schema: kinds.number(0, 86_400),
    allowed: 'a number of seconds from 0 to 86400',
    default: 0,
    commands: produce,
    flag: 'interval',
  }),
  'replay.min': setting({
    description: 'replay: fewest records per batch; 0 = the preset',
    schema: kinds.integer(0, 100_000),
    allowed: 'an integer from 0 to 100000',
    default: 0,
    commands: produce,
    flag: 'min',
  }),
  'replay.schema': setting({
    description:
      'replay: the records follow this declared event schema (a schema file, or the name of one in schemas), validated against it and sent to its topic; empty = the default replay record',
    schema: kinds.optionalText(),
    allowed: 'a schema file path or the name of a declared schema, or empty',
    default: '',
    commands: produce,
    flag: 'schema',
  }),
  'replay.max': setting({
    description: 'replay: most records per batch; 0 = the preset',
    schema: kinds.integer(0, 100_000),
    allowed: 'an integer from 0 to 100000',
    default: 0,
    commands: produce,
    flag: 'max',
  }),

  's3.endpoint': setting({
    description: 'S3 endpoint URL (MinIO or another S3-compatible store); empty = AWS',
    schema: kinds.optionalText(),
    allowed: 'a URL such as http://127.0.0.1:9000, or empty',
    default: '',
    commands: produce,
  }),
  's3.region': setting({
    description: 'S3 region',
    schema: kinds.text(),
    allowed: 'a region name such as us-east-1',
    default: 'us-east-1',
    commands: produce,
  }),
  's3.accessKeyId': setting({
    description: 'S3 access key id; empty = the AWS SDK default credential chain',
    schema: kinds.optionalText(),
    allowed: 'an access key id, or empty',
    default: '',
    commands: produce,
  }),
  's3.secretAccessKey': setting({
    description: 'S3 secret access key',
    schema: kinds.optionalText(),
    allowed: 'a secret access key, or empty',
    default: '',
    commands: produce,
  }),
  's3.pathStyle': setting({
    description: 'S3 path-style addressing (http://host/bucket/key), needed by MinIO and most local stores',
    schema: kinds.boolean(),
    allowed: 'true or false',
    default: true,
    commands: produce,
  }),

  'points.outlierProbability': setting({
    description: 'points: probability that a point comes from the outlier distribution',
    schema: kinds.number(0, 1),
    allowed: 'a number from 0 to 1',
    default: 0.2,
    commands: produce,
    flag: 'outlier-probability',
  }),

  'metrics.host': setting({
    description: 'metrics: host name carried by every sample (the message key)',
    schema: kinds.text(),
    allowed: 'a non-empty name',
    default: 'host-1',
    commands: produce,
    flag: 'host',
  }),
} as const

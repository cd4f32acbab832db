import { schemaSettings } from './schemas.ts'
import { serviceSettings } from './services.ts'
import { kinds, setting } from './setting.ts'
import { sourceSettings } from './sources.ts'

// Every setting of Lookout, in one place. Keys are dotted; the environment variable is
// LOOKOUT_ + the key in upper snake case, the flag is the key in kebab case unless named.

const coreSettings = {
  dataDir: setting({
    description: 'directory for the broker, its logs, models and alert store',
    schema: kinds.text(),
    allowed: 'a directory path',
    default: '.lookout',
  }),
  'log.level': setting({
    description: 'least severe log level printed',
    schema: kinds.oneOf(['debug', 'info', 'warn', 'error']),
    allowed: 'debug, info, warn or error',
    default: 'info' as 'debug' | 'info' | 'warn' | 'error',
  }),
  'log.format': setting({
    description: 'log line format',
    schema: kinds.oneOf(['text', 'json']),
    allowed: 'text or json',
    default: 'text' as 'text' | 'json',
  }),

  'kafka.brokers': setting({
    description: 'bootstrap brokers (host:port, comma-separated); when empty Lookout starts a local broker',
    schema: kinds.list(),
    allowed: 'a comma-separated list of host:port',
    default: [] as string[],
    flag: 'brokers',
    env: 'LOOKOUT_BROKERS',
  }),
  'kafka.clientId': setting({
    description: 'client id prefix sent to the brokers',
    schema: kinds.text(),
    allowed: 'a non-empty string',
    default: 'lookout',
  }),
  'kafka.connectAttempts': setting({
    description: 'connection attempts before giving up',
    schema: kinds.integer(1, 100),
    allowed: 'an integer from 1 to 100',
    default: 8,
  }),
  'kafka.connectBackoffMs': setting({
    description: 'first retry delay in ms; doubles each attempt, with jitter',
    schema: kinds.integer(10, 60_000),
    allowed: 'an integer from 10 to 60000',
    default: 250,
  }),
  'kafka.connectBackoffMaxMs': setting({
    description: 'longest retry delay in ms',
    schema: kinds.integer(10, 300_000),
    allowed: 'an integer from 10 to 300000',
    default: 5_000,
  }),

  'broker.port': setting({
    description: 'port of the local broker on 127.0.0.1',
    schema: kinds.integer(1, 65_535),
    allowed: 'an integer from 1 to 65535',
    default: 9092,
  }),
  'broker.controllerPort': setting({
    description: 'KRaft controller port of the local broker; 0 = broker port + 1',
    schema: kinds.integer(0, 65_535),
    allowed: 'an integer from 0 to 65535',
    default: 0,
  }),
  'broker.kafkaVersion': setting({
    description: 'Apache Kafka version installed from Maven Central for the local broker',
    schema: kinds.text().regex(/^\d+\.\d+\.\d+$/, 'expected a version such as 4.1.1'),
    allowed: 'a Kafka 4.x version such as 4.1.1',
    default: '4.1.1',
  }),
  'broker.heap': setting({
    description: 'JVM heap of the local broker (-Xmx)',
    schema: kinds.text().regex(/^\d+[kKmMgG]?$/, 'expected a size such as 512m or 1g'),
    allowed: 'a JVM size such as 512m or 1g',
    default: '1g',
  }),
  'broker.compiler': setting({
    description:
      "JIT compilers of the local broker's JVM: c1 (-XX:TieredStopAtLevel=1: a fresh broker under load spends far less CPU compiling) or tiered (the JVM's default, C1 then C2)",
    schema: kinds.oneOf(['c1', 'tiered']),
    allowed: 'c1 or tiered',
    default: 'c1' as 'c1' | 'tiered',
  }),
  'broker.startTimeoutMs': setting({
    description: 'how long to wait for the local broker to answer before giving up',
    schema: kinds.integer(1_000, 600_000),
    allowed: 'an integer from 1000 to 600000',
    default: 90_000,
  }),
  'broker.stopTimeoutMs': setting({
    description: 'how long a graceful stop may take before the broker is killed',
    schema: kinds.integer(100, 600_000),
    allowed: 'an integer from 100 to 600000',
    default: 20_000,
  }),

  'topics.prefix': setting({
    description: 'prefix added to every topic name',
    schema: kinds.optionalText().regex(/^[a-zA-Z0-9._-]*$/, 'only letters, digits, ".", "_" and "-"'),
    allowed: 'letters, digits, ".", "_" and "-"',
    default: '',
  }),
  'topics.partitions': setting({
    description: 'partitions of each topic Lookout creates',
    schema: kinds.integer(1, 10_000),
    allowed: 'an integer from 1 to 10000',
    default: 3,
  }),
  'topics.replicationFactor': setting({
    description: 'replication factor of each topic Lookout creates',
    schema: kinds.integer(1, 32),
    allowed: 'an integer from 1 to 32',
    default: 1,
  }),

  'producer.lingerMs': setting({
    description: 'how long a producer waits to fill a batch (ms)',
    schema: kinds.integer(0, 60_000),
    allowed: 'an integer from 0 to 60000',
    default: 5,
  }),
  'producer.batchSize': setting({
    description: 'records per produce request',
    schema: kinds.integer(1, 100_000),
    allowed: 'an integer from 1 to 100000',
    default: 500,
  }),
  'producer.compression': setting({
    description: 'compression of produced batches',
    schema: kinds.oneOf(['none', 'gzip', 'snappy', 'lz4', 'zstd']),
    allowed: 'none, gzip, snappy, lz4 or zstd',
    default: 'none' as 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd',
  }),
} as const

// Sections of other components live beside their code's concern and are merged here, so
// there is still one schema, validated once.
export const settings = { ...coreSettings, ...sourceSettings, ...serviceSettings, ...schemaSettings } as const

export type Settings = typeof settings
export type SettingKey = keyof Settings
export type Config = { readonly [K in SettingKey]: Settings[K]['default'] }

// One stage of the pipeline with an identity processor: the same processor runtime as the
// service (consumer group, batches, exactly-once transactions, a state store), reading the same
// topic and writing records of the sizes the real stage writes, but computing nothing. The
// ceiling of bench/pipeline.ts runs enrich, score and alert this way.
//
//   node bench/lib/identity-service.ts <enrich|score|alert> <bootstrap> <topicPrefix> <shape JSON>
//
// shape: the mean value size of the real run's records on each output topic, one anomaly per
// `anomalyEvery` scored events and one alert per `alertEvery` anomalies.
import { loadConfig } from '../../src/config/load.ts'
import { kafkaContext } from '../../src/kafka/context.ts'
import { type OutputRecord, type Processor, ProcessorRuntime } from '../../src/kafka/processor.ts'
import { type TopicKey, topicName } from '../../src/kafka/topics.ts'

export interface StageShape {
  bytes: Record<'enrichedFeatures' | 'anomalyScores' | 'anomalies' | 'alerts', number>
  anomalyEvery: number
  alertEvery: number
}

const [stage, bootstrap, prefix, shapeText] = process.argv.slice(2)
if (!stage || !bootstrap || prefix === undefined || !shapeText)
  throw new Error('usage: identity-service.ts <enrich|score|alert> <bootstrap> <topicPrefix> <shape JSON>')
const shape = JSON.parse(shapeText) as StageShape
const config = loadConfig({ env: {}, flags: { 'topics.prefix': prefix } })
const context = kafkaContext(config, [bootstrap])

/** A value of `bytes` bytes: the input's own bytes, cut or padded. */
function sized(input: Buffer, bytes: number): Buffer {
  const value = Buffer.alloc(Math.max(1, Math.round(bytes)), 0x20)
  input.copy(value, 0, 0, Math.min(input.length, value.length))
  return value
}

/** For each input record, a record of each output's size on its topic, on every `every`-th record. */
function identity(name: string, outputs: { topic: keyof StageShape['bytes']; every: number }[]): Processor<Buffer> {
  let seen = 0
  return {
    name,
    decode: (value) => value,
    process(records) {
      const written: OutputRecord[] = []
      for (const record of records) {
        seen++
        for (const output of outputs) {
          if (seen % output.every !== 0) continue
          const value = sized(record.value, shape.bytes[output.topic])
          const topic = topicName(prefix!, output.topic)
          written.push(record.key === undefined ? { topic, value } : { topic, key: record.key, value })
        }
      }
      return written
    },
  }
}

const stages = {
  enrich: { input: 'rawTransactions', processor: identity('enrich', [{ topic: 'enrichedFeatures', every: 1 }]) },
  score: {
    input: 'enrichedFeatures',
    processor: identity('score', [
      { topic: 'anomalyScores', every: 1 },
      { topic: 'anomalies', every: shape.anomalyEvery },
    ]),
  },
  alert: { input: 'anomalies', processor: identity('alert', [{ topic: 'alerts', every: shape.alertEvery }]) },
} as const satisfies Record<string, { input: TopicKey; processor: Processor<Buffer> }>

const chosen = stages[stage as keyof typeof stages]
if (!chosen) throw new Error(`unknown stage ${stage}; expected enrich, score or alert`)
const runtime = new ProcessorRuntime(context, chosen.processor, {
  inputTopics: [topicName(prefix, chosen.input)],
  maxBatchRecords: config['processor.maxBatch'],
  maxBatchWaitMs: config['processor.maxWaitMs'],
})
await runtime.start()
process.once('SIGTERM', () => {
  void runtime.stop().then(() => process.exit(0))
})

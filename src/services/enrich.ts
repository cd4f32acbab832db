import type { LookoutEvent } from '../core/events.ts'
import { encodeEnriched } from '../core/pipeline/enriched-record.ts'
import { decodeEvent, enrich, entityKeyOf, firstNonFinite } from '../core/pipeline/events.ts'
import { type CompiledSchema, type DeclaredEvent, registerSchemas } from '../core/schemas/index.ts'
import { connectAdmin, ensureTopics } from '../kafka/admin.ts'
import type { OutputRecord, Processor } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'
import type { ServiceDefinition } from './service.ts'

/**
 * Largest magnitude a number in an event may have: beyond it numbers are no longer exact
 * integers, and one such amount would swamp its entity's running mean and variance for good.
 */
export const maxEventNumber = Number.MAX_SAFE_INTEGER

/** The path (outermost part last) of the first number in `value` beyond ±`maxEventNumber`, or undefined. */
function outOfRange(value: unknown): string[] | undefined {
  if (typeof value === 'number') return Math.abs(value) > maxEventNumber ? [] : undefined
  if (value === null || typeof value !== 'object') return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const path = outOfRange(value[i])
      if (path !== undefined) return [...path, String(i)]
    }
    return undefined
  }
  // the path is made only for the number that is out of range: the walk of a valid event builds no strings
  for (const key in value) {
    const path = outOfRange((value as Record<string, unknown>)[key])
    if (path !== undefined) return [...path, key]
  }
  return undefined
}

/** Throws (a dead-letter reason) for a number in the event beyond ±`maxEventNumber`. */
function checkMagnitudes(event: unknown): void {
  const path = outOfRange(event)
  if (path === undefined) return
  let value = event
  for (let i = path.length - 1; i >= 0; i--) value = (value as Record<string, unknown>)[path[i]!]
  throw new Error(
    `field ${path.reverse().join('.')} is out of range: ${value} (numbers must be within ±${maxEventNumber})`,
  )
}

/**
 * enrich: raw events → per-entity features. The entity's state (running averages, windows,
 * known devices) lives in the partition's store and its changelog, keyed by entity.
 */
export function enrichProcessor(topicPrefix: string): Processor<LookoutEvent> {
  const output = topicName(topicPrefix, 'enrichedFeatures')
  return {
    name: 'enrich',
    // one small state per entity, millions of entities: kept as JSON text
    serializedState: true,
    decode(value) {
      const event = decodeEvent(value.toString())
      checkMagnitudes(event)
      return event
    },
    process(records, { store }) {
      const outputs: OutputRecord[] = new Array(records.length)
      for (let i = 0; i < records.length; i++) {
        const event = records[i]!.value
        const entity = entityKeyOf(event)
        const { enriched, nextState } = enrich(event, store.get(entity))
        // a feature that is not finite would travel as null and break the entity's state
        const bad = firstNonFinite(enriched.features)
        if (bad >= 0)
          throw new Error(`feature ${bad} of ${enriched.id} is ${enriched.features[bad]}, not a finite number`)
        store.put(entity, nextState)
        outputs[i] = { topic: output, key: entity, value: encodeEnriched(enriched) }
      }
      return outputs
    },
  }
}

/**
 * enrich for an event schema declared in the config file: records of its own topic → the same
 * enriched-features topic, with the entity's state in the processor's own changelogged store
 * (`lookout-enrich-<schema>`). A record that does not match the schema is a dead letter whose
 * reason names the field; a schema without an event-time field takes the record's timestamp.
 */
export function schemaEnrichProcessor(topicPrefix: string, schema: CompiledSchema): Processor<DeclaredEvent> {
  const output = topicName(topicPrefix, 'enrichedFeatures')
  const recordTime = schema.declaration.eventTime === undefined
  return {
    name: `enrich-${schema.name}`,
    decode(value) {
      let parsed: unknown
      try {
        parsed = JSON.parse(value.toString())
      } catch (error) {
        throw new Error(`not JSON: ${(error as Error).message}`)
      }
      checkMagnitudes(parsed)
      // with the record's timestamp as event time, it is set in process (decode does not see it)
      return schema.decode(parsed, 0)
    },
    process(records, { store }) {
      const outputs: OutputRecord[] = new Array(records.length)
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!
        const event = recordTime ? { ...record.value, time: record.timestamp } : record.value
        const entity = schema.entityKey(event)
        const { enriched, nextState } = enrich(event as unknown as LookoutEvent, store.get(entity))
        const bad = firstNonFinite(enriched.features)
        if (bad >= 0)
          throw new Error(
            `feature ${schema.featureNames[bad]} of ${enriched.id} is ${enriched.features[bad]}, not a finite number`,
          )
        store.put(entity, nextState)
        outputs[i] = { topic: output, key: entity, value: encodeEnriched(enriched) }
      }
      return outputs
    },
  }
}

export const enrichService: ServiceDefinition = {
  name: 'enrich',
  description:
    'raw events → per-entity features (raw-transactions, and the topic of each declared event schema → enriched-features)',
  section: 'enrich',
  async start(context) {
    const prefix = context.kafka.topicPrefix
    const runtimes = context.processorRuntimes('rawTransactions', () => enrichProcessor(prefix))
    const declared = registerSchemas(context.config.schemas).filter((schema) => schema.declaration.topic)
    if (declared.length > 0) {
      // a declared topic that does not exist yet is created, so the stream can start before its producer
      const admin = await connectAdmin(context.kafka)
      try {
        await ensureTopics(
          admin,
          declared.map((schema) => ({
            name: schema.declaration.topic!,
            partitions: context.kafka.partitions,
            replicationFactor: context.kafka.replicationFactor,
            compacted: false,
          })),
        )
      } finally {
        await admin.close()
      }
    }
    for (const schema of declared)
      runtimes.push(
        ...context.processorRuntimes({ topic: schema.declaration.topic! }, () => schemaEnrichProcessor(prefix, schema)),
      )
    return { runtimes }
  },
}

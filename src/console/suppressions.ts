// The entities whose alerts are suppressed by analysts' false-positive marks, as the alert
// service publishes them to the compacted `alert-suppressions` topic (the latest record per
// entity says its current or last suppression).
import type { SuppressionRecord } from '../core/suppression.ts'
import { forEachInRanges } from '../kafka/range.ts'
import { topicName } from '../kafka/topics.ts'
import type { ConsoleKafka } from './kafka.ts'

/** The suppressions in force at `now`, the newest first. */
export async function currentSuppressions(kafka: ConsoleKafka, now = Date.now()): Promise<SuppressionRecord[]> {
  const topic = topicName(kafka.context.topicPrefix, 'alertSuppressions')
  const partitions = (await kafka.offsets([topic])).get(topic) ?? []
  const latest = new Map<string, SuppressionRecord>()
  await forEachInRanges(
    kafka.context,
    topic,
    partitions.map(({ low, high }, partition) => ({ partition, from: low, to: high })),
    (message) => {
      const entity = message.key?.toString()
      if (!entity) return true
      try {
        latest.set(entity, JSON.parse(message.value?.toString() ?? '') as SuppressionRecord)
      } catch {
        latest.delete(entity) // a tombstone
      }
      return true
    },
    { name: 'console-suppressions', timeoutMs: 10_000 },
  )
  return [...latest.values()]
    .filter((suppression) => Date.parse(suppression.until) > now)
    .sort((a, b) => b.since.localeCompare(a.since))
}

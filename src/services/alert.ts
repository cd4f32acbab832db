import { type AlertPolicy, decideAlert, type EntityAlertState } from '../core/alerts.ts'
import type { ScoredEvent } from '../core/pipeline/events.ts'
import type { OutputRecord, Processor } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'

export function decodeScored(text: string): ScoredEvent {
  const event = JSON.parse(text) as ScoredEvent
  if (typeof event?.id !== 'string' || typeof event.entity !== 'string' || typeof event.score !== 'number')
    throw new Error('a scored event needs string id and entity and a numeric score')
  return event
}

/** alert: anomalies → de-duplicated, rate-limited alerts with severity and reasons. */
export function alertProcessor(topicPrefix: string, policy: AlertPolicy): Processor<ScoredEvent> {
  const alerts = topicName(topicPrefix, 'alerts')
  return {
    name: 'alert',
    decode: (value) => decodeScored(value.toString()),
    process(records, { store }) {
      const outputs: OutputRecord[] = []
      for (const record of records) {
        const scored = record.value
        const { alert, nextState } = decideAlert(scored, store.get<EntityAlertState>(scored.entity), policy)
        store.put(scored.entity, nextState)
        if (alert) outputs.push({ topic: alerts, key: alert.entity, value: JSON.stringify(alert) })
      }
      return outputs
    },
  }
}

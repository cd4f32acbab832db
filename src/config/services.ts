import { kinds, setting } from './setting.ts'

// Settings of the pipeline services (enrich, score, alert, ...).
export const serviceSettings = {
  'score.threshold': setting({
    description: 'combined score at or above which an event goes to the anomalies topic',
    schema: kinds.number(0, 1),
    allowed: 'a number from 0 to 1',
    default: 0.99,
  }),
} as const

// Offline training of the Isolation Forest on enriched events of one kind, with a held-out
// evaluation so that a new version can be compared with the one it would replace.
import { IsolationForest } from './anomaly/isolation-forest.ts'
import { type EventKind, featureKindOf } from './features/index.ts'
import { labelOf } from './kinds.ts'
import type { EnrichedEvent } from './pipeline/events.ts'
import { averagePrecision, rocAuc } from './quality.ts'

export interface TrainOptions {
  nTrees?: number
  sampleSize?: number
  seed?: number
  /** Share of the newest events held out for evaluation (default 0.2). */
  holdout?: number
}

export interface Evaluation {
  rows: number
  labelled: number
  positives: number
  /** null when the held-out data has no labels or only one class. */
  rocAuc: number | null
  averagePrecision: number | null
  meanScore: number
}

export function evaluateForest(forest: IsolationForest, events: readonly EnrichedEvent[]): Evaluation {
  const scores: number[] = []
  const labels: number[] = []
  let sum = 0
  for (const event of events) {
    const score = forest.score(Float64Array.from(event.features))
    sum += score
    const label = labelOf(event.event)
    if (label !== undefined) {
      scores.push(score)
      labels.push(label)
    }
  }
  const positives = labels.reduce((total, label) => total + label, 0)
  const bothClasses = positives > 0 && positives < labels.length
  return {
    rows: events.length,
    labelled: labels.length,
    positives,
    rocAuc: bothClasses ? rocAuc(scores, labels) : null,
    averagePrecision: bothClasses ? averagePrecision(scores, labels) : null,
    meanScore: events.length ? sum / events.length : 0,
  }
}

/** Trains on the older events and evaluates on the newest `holdout` share (time order kept). */
export function trainForest(
  kind: EventKind,
  events: readonly EnrichedEvent[],
  options: TrainOptions = {},
): { forest: IsolationForest; evaluation: Evaluation; trainRows: number } {
  const ofKind = events.filter((event) => event.kind === kind)
  if (ofKind.length < 10) throw new RangeError(`need at least 10 ${kind} events to train, got ${ofKind.length}`)
  const holdout = Math.floor(ofKind.length * (options.holdout ?? 0.2))
  const training = ofKind.slice(0, ofKind.length - holdout)
  const test = ofKind.slice(ofKind.length - holdout)
  const columns = featureKindOf(kind)!.schema.names.length
  const data = new Float64Array(training.length * columns)
  training.forEach((event, row) => {
    for (let c = 0; c < columns; c++) data[row * columns + c] = event.features[c] ?? 0
  })
  const forest = IsolationForest.train(
    { data, rows: training.length, columns },
    {
      featureNames: featureKindOf(kind)!.schema.names,
      ...(options.nTrees === undefined ? {} : { nTrees: options.nTrees }),
      ...(options.sampleSize === undefined ? {} : { sampleSize: options.sampleSize }),
      seed: options.seed ?? 42,
    },
  )
  return { forest, evaluation: evaluateForest(forest, test.length ? test : training), trainRows: training.length }
}

// The whole per-event scoring of the score service on one core: every detector, the robust
// scaler, the calibrated ensemble, the rules and the explanation, then the record's JSON; what
// `PartitionScorer.score` and the score processor do per event. Phased transactions (normal and
// drift phases) are enriched once beforehand; each repeat scores them with a fresh scorer,
// once without a model and once with an Isolation Forest trained on the first 20,000.
//
//   node bench/detectors-scorer.ts [--seed 42]   (also part of bench/detectors.ts)
import { parseArgs } from 'node:util'
import type { EnrichedEvent } from '../src/core/pipeline/events.ts'
import { type LoadedModel, PartitionScorer } from '../src/core/pipeline/scorer.ts'
import { PhasedGenerator } from '../src/core/sources/phased.ts'
import { trainForest } from '../src/core/training.ts'
import { OfflinePipeline } from '../src/offline/offline.ts'
import { median } from './detectors-streaming.ts'

const threshold = 0.999

export interface ScorerRates {
  events: number
  /** Events/s (wall clock, median of repeats) of `PartitionScorer.score`. */
  noModel: number
  withModel: number
  /** Same, with the scored record's JSON (what the processor writes). */
  withModelAndJson: number
  /** With a model, every event explained (not only the flagged ones, as the score service does). */
  withModelExplainAll: number
  /** Events/s per CPU-second of the thread, with a model. */
  withModelCpu: number
  /** Share of the score service's flagged events among these (score ≥ 0.999). */
  flaggedShare: number
}

function timed(events: readonly EnrichedEvent[], scorer: PartitionScorer, json: boolean): [number, number] {
  const cpu = process.cpuUsage()
  const start = performance.now()
  let bytes = 0
  for (const event of events) {
    const scored = scorer.score(event)
    if (json) bytes += JSON.stringify(scored).length
  }
  const wall = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpu)
  if (bytes < 0) console.log(bytes)
  return [events.length / wall, events.length / ((used.user + used.system) / 1e6)]
}

/** Phased transactions from the normal phase into the drift phase, enriched, and a model trained on the first 20,000. */
export function scorerWorkload(seed: number, count: number) {
  const generator = new PhasedGenerator({ seed })
  generator.fastForward(50_000)
  const enricher = new OfflinePipeline({ partitions: 1 })
  const events = Array.from({ length: count }, () => enricher.enrich(generator.next(Date.UTC(2025, 0, 1) / 1000)))
  const { forest } = trainForest('transaction', events.slice(0, 20_000), { seed, holdout: 0 })
  const model: LoadedModel = { version: 'bench', kind: 'transaction', forest }
  return { events, withModel: (kind: string) => (kind === 'transaction' ? model : undefined) }
}

export function measureScorer(seed: number, count = 60_000, repeats = 5): ScorerRates {
  const { events, withModel } = scorerWorkload(seed, count)
  // as the score service: explanations for what it flags (score.threshold, default 0.999)
  const options = { explainFrom: threshold }
  const rates = { noModel: [] as number[], withModel: [] as number[], json: [] as number[], cpu: [] as number[] }
  const explainAll: number[] = []
  // one warm-up round, then the timed repeats
  for (let r = 0; r <= repeats; r++) {
    const [noModel] = timed(events, new PartitionScorer(() => undefined, 1, undefined, options), false)
    const [model, cpu] = timed(events, new PartitionScorer(withModel, 1, undefined, options), false)
    const [json] = timed(events, new PartitionScorer(withModel, 1, undefined, options), true)
    const [all] = timed(events, new PartitionScorer(withModel, 1), false)
    if (r === 0) continue
    rates.noModel.push(noModel)
    rates.withModel.push(model)
    rates.cpu.push(cpu)
    rates.json.push(json)
    explainAll.push(all)
  }
  const scorer = new PartitionScorer(withModel, 1, undefined, options)
  let flagged = 0
  for (const event of events) if (scorer.score(event).score >= threshold) flagged++
  return {
    events: count,
    noModel: median(rates.noModel),
    withModel: median(rates.withModel),
    withModelAndJson: median(rates.json),
    withModelExplainAll: median(explainAll),
    withModelCpu: median(rates.cpu),
    flaggedShare: flagged / count,
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { seed: { type: 'string', default: '42' } } })
  const rates = measureScorer(Number(values.seed))
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
  console.log(
    `whole scoring (PartitionScorer.score), ${fmt(rates.events)} phased transactions: no model ${fmt(rates.noModel)} events/s; ` +
      `with a model ${fmt(rates.withModel)} events/s (${fmt(rates.withModelCpu)} per CPU-second); with a model and the record's JSON ${fmt(rates.withModelAndJson)} events/s; ` +
      `with a model, every event explained ${fmt(rates.withModelExplainAll)} events/s; ` +
      `flagged ${(rates.flaggedShare * 100).toFixed(2)} %`,
  )
}

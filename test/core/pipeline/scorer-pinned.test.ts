// Pins the scorer's output on a fixed stream: every kind, with and without an offline model,
// through the same enrich + score code as the stream. A change that moves any score, detector
// score, rule hit or flagged event's explanation by one bit changes a digest here.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import type { LookoutEvent } from '../../../src/core/events.ts'
import type { EnrichedEvent, ScoredEvent } from '../../../src/core/pipeline/events.ts'
import type { LoadedModel } from '../../../src/core/pipeline/scorer.ts'
import { MetricGenerator } from '../../../src/core/sources/metrics.ts'
import { PaymentGenerator } from '../../../src/core/sources/payments.ts'
import { PhasedGenerator } from '../../../src/core/sources/phased.ts'
import { PointGenerator } from '../../../src/core/sources/points.ts'
import { trainForest } from '../../../src/core/training.ts'
import { OfflinePipeline } from '../../../src/offline/offline.ts'

const start = Date.UTC(2025, 0, 1)
const threshold = 0.999

/** Phased transactions (from the drift phase on), payments, points and metrics, interleaved. */
function stream(): () => LookoutEvent {
  const phased = new PhasedGenerator({ seed: 11 })
  phased.fastForward(170_000)
  const payments = new PaymentGenerator({ seed: 11, startTimeMs: start })
  const points = new PointGenerator({ seed: 11, firstId: 0 })
  const metrics = new MetricGenerator({ seed: 11, startTimeMs: start })
  let i = 0
  return () => {
    i++
    switch (i % 4) {
      case 0:
        return payments.next(start / 1000)
      case 1:
        return points.next(start + i * 10)
      case 2:
        return metrics.next()
      default:
        return phased.next(start / 1000)
    }
  }
}

interface Digests {
  scores: string
  explanations: string
  flagged: number
  withModel: number
}

function run(explainFrom: number | undefined): Digests {
  const next = stream()
  const pipeline = new OfflinePipeline({ partitions: 2, ...(explainFrom === undefined ? {} : { explainFrom }) })
  const training: EnrichedEvent[] = []
  const scored: ScoredEvent[] = []
  for (let i = 0; i < 16_000; i++) {
    const enriched = pipeline.enrich(next())
    if (i < 8_000 && enriched.kind === 'transaction') training.push(enriched)
    scored.push(pipeline.score(enriched))
    if (i === 8_000) {
      const { forest } = trainForest('transaction', training, { seed: 3, holdout: 0 })
      const model: LoadedModel = { version: 'pinned', kind: 'transaction', forest }
      pipeline.refreshModels((kind) => (kind === 'transaction' ? model : undefined))
    }
  }
  const scores = createHash('sha256')
  const explanations = createHash('sha256')
  let flagged = 0
  for (const event of scored) {
    const { score, scores: detectors, rules, entityScore, modelVersion, label } = event
    scores.update(`${JSON.stringify({ score, detectors, rules, entityScore, modelVersion, label })}\n`)
    if (score >= threshold) {
      flagged++
      explanations.update(`${JSON.stringify(event.contributions)}\n`)
    } else if (explainFrom === threshold) assert.deepEqual(event.contributions, [])
  }
  return {
    scores: scores.digest('hex'),
    explanations: explanations.digest('hex'),
    flagged,
    withModel: scored.filter((event) => event.modelVersion === 'pinned').length,
  }
}

const pinned: Digests = {
  scores: '45974533f383148ab4fe82ec033a7e744a2a7a494a5837052a20e39a1121e746',
  explanations: '4e25afba6ac704ab15b027fa84a4a4904a5b3477afb92adef0c7be549888a4b2',
  flagged: 696,
  withModel: 2_000,
}

test('scores, detector scores, rule hits and the explanations of flagged events are pinned on a fixed stream', () => {
  assert.deepEqual(run(undefined), pinned)
})

test('explaining only the flagged events (as the score service does) changes no score and no explanation', () => {
  assert.deepEqual(run(threshold), pinned)
})

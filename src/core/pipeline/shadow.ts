// The judge of a shadow model: the candidate scores every event beside the live model, and
// once enough labelled events were seen (labelled by the source's ground truth, or later by an
// analyst's true- or false-positive mark joined with the event) the two are compared on them (ROC-AUC of their raw
// Isolation Forest scores against the labels). The candidate is promoted when it is at least
// as good, rejected when it is worse. Without labels it is promoted after
// `promoteAfterEvents` events (0 = never: a person decides with `lookout models promote`).
//
// The score service and `lookout eval --drift` share the two steps below: `shadowScores` (the
// raw scores of both models on one scored event) and `ShadowJudges` (a judge per kind and
// shadow version, one verdict per version).
import type { EventKind } from '../features/index.ts'
import { rocAuc } from '../quality.ts'
import type { EnrichedEvent, ScoredEvent } from './events.ts'
import type { LoadedModel } from './scorer.ts'

export interface ShadowJudgeOptions {
  /** Labelled events (with both classes) needed before deciding. */
  readonly minLabelled?: number
  /** Promote after this many events when no labels arrive; 0 = never automatically. */
  readonly promoteAfterEvents?: number
}

export const shadowJudgeDefaults = { minLabelled: 2_000, promoteAfterEvents: 0 } as const

export interface ShadowVerdict {
  decision: 'promote' | 'reject'
  reason: string
  events: number
  labelled: number
  /** Of the labelled events, those labelled by an analyst's mark (the others carried ground truth). */
  analystLabelled: number
  liveAuc: number | null
  shadowAuc: number | null
}

export class ShadowJudge {
  readonly shadowVersion: string
  readonly minLabelled: number
  readonly promoteAfterEvents: number
  #events = 0
  readonly #live: number[] = []
  readonly #shadow: number[] = []
  readonly #labels: number[] = []
  #positives = 0
  #analyst = 0

  constructor(shadowVersion: string, options: ShadowJudgeOptions = {}) {
    this.shadowVersion = shadowVersion
    this.minLabelled = options.minLabelled ?? shadowJudgeDefaults.minLabelled
    this.promoteAfterEvents = options.promoteAfterEvents ?? shadowJudgeDefaults.promoteAfterEvents
  }

  /**
   * One event's raw scores (live undefined when there is no live model) and label. Returns a
   * verdict once there is one.
   */
  observe(live: number | undefined, shadow: number, label: 0 | 1 | undefined): ShadowVerdict | undefined {
    this.#events++
    if (label !== undefined) this.#add(live, shadow, label)
    return this.#verdict(live)
  }

  /**
   * The label an analyst gave an event this judge observed earlier without one (its raw scores
   * as they were then): it counts as a labelled event. Returns a verdict once there is one.
   */
  observeLabel(live: number | undefined, shadow: number, label: 0 | 1): ShadowVerdict | undefined {
    this.#add(live, shadow, label)
    this.#analyst++
    return this.#verdict(live)
  }

  /** Labelled events so far, and how many of them analysts labelled. */
  get labelled(): { total: number; analyst: number } {
    return { total: this.#labels.length, analyst: this.#analyst }
  }

  #add(live: number | undefined, shadow: number, label: 0 | 1): void {
    this.#live.push(live ?? 0)
    this.#shadow.push(shadow)
    this.#labels.push(label)
    this.#positives += label
  }

  #verdict(live: number | undefined): ShadowVerdict | undefined {
    const labelled = this.#labels.length
    const analystLabelled = this.#analyst
    const marked = analystLabelled > 0 ? ` (${analystLabelled} labelled by analysts)` : ''
    const bothClasses = this.#positives > 0 && this.#positives < labelled
    if (labelled >= this.minLabelled && bothClasses) {
      const shadowAuc = rocAuc(this.#shadow, this.#labels)
      const liveAuc = live === undefined && this.#live.every((v) => v === 0) ? null : rocAuc(this.#live, this.#labels)
      const better = liveAuc === null || shadowAuc >= liveAuc
      return {
        decision: better ? 'promote' : 'reject',
        reason: `ROC-AUC on ${labelled} labelled events${marked}: shadow ${shadowAuc.toFixed(4)} vs live ${liveAuc === null ? '-' : liveAuc.toFixed(4)}`,
        events: this.#events,
        labelled,
        analystLabelled,
        liveAuc,
        shadowAuc,
      }
    }
    if (this.promoteAfterEvents > 0 && this.#events >= this.promoteAfterEvents && labelled < this.minLabelled) {
      return {
        decision: 'promote',
        reason: `${this.#events} events in shadow without enough labels`,
        events: this.#events,
        labelled,
        analystLabelled,
        liveAuc: null,
        shadowAuc: null,
      }
    }
    return undefined
  }
}

/** The raw Isolation Forest scores of a shadow model and of the live model beside it. */
export interface ShadowScores {
  /** The live model's score, undefined when no model scored the event. */
  live: number | undefined
  shadow: number
}

/**
 * The raw scores of `shadow` and of the live model that scored `scored` on the features of
 * `enriched`; undefined when the shadow is the model that scored it (nothing to compare).
 * `live` is the live model now; its score counts only when it is the one that scored the event.
 */
export function shadowScores(
  enriched: EnrichedEvent,
  scored: ScoredEvent,
  live: LoadedModel | undefined,
  shadow: LoadedModel,
): ShadowScores | undefined {
  if (shadow.version === scored.modelVersion) return undefined
  const x = Float64Array.from(enriched.features)
  return {
    live: live && live.version === scored.modelVersion ? live.forest.score(x) : undefined,
    shadow: shadow.forest.score(x),
  }
}

/**
 * The judges of the shadow models in one process: one ShadowJudge per event kind, replaced
 * when the kind's shadow version changes. Each version gets at most one verdict, unless it is
 * reopened (its verdict could not be acted on).
 */
export class ShadowJudges {
  readonly #options: ShadowJudgeOptions
  readonly #judges = new Map<EventKind, ShadowJudge>()
  readonly #decided = new Set<string>()

  constructor(options: ShadowJudgeOptions = {}) {
    this.#options = options
  }

  /** One shadow-scored event of `kind`; returns the verdict on `shadowVersion` once there is one. */
  observe(
    kind: EventKind,
    shadowVersion: string,
    scores: ShadowScores,
    label: 0 | 1 | undefined,
  ): ShadowVerdict | undefined {
    let judge = this.#judges.get(kind)
    if (judge?.shadowVersion !== shadowVersion) {
      judge = new ShadowJudge(shadowVersion, this.#options)
      this.#judges.set(kind, judge)
    }
    if (this.#decided.has(shadowVersion)) return undefined
    const verdict = judge.observe(scores.live, scores.shadow, label)
    if (verdict) this.#decided.add(shadowVersion)
    return verdict
  }

  /**
   * An analyst's label for an event of `kind` that `shadowVersion` scored in shadow (its raw
   * scores as they were then); ignored when that version is no longer the kind's shadow or is
   * decided. Returns the verdict on it once there is one.
   */
  observeLabel(kind: EventKind, shadowVersion: string, scores: ShadowScores, label: 0 | 1): ShadowVerdict | undefined {
    const judge = this.#judges.get(kind)
    if (judge?.shadowVersion !== shadowVersion || this.#decided.has(shadowVersion)) return undefined
    const verdict = judge.observeLabel(scores.live, scores.shadow, label)
    if (verdict) this.#decided.add(shadowVersion)
    return verdict
  }

  /** The labelled events of the judge of `kind` (of its current shadow version). */
  labelled(kind: EventKind): { shadowVersion: string; total: number; analyst: number } | undefined {
    const judge = this.#judges.get(kind)
    return judge && { shadowVersion: judge.shadowVersion, ...judge.labelled }
  }

  /** Lets `shadowVersion` be decided again. */
  reopen(shadowVersion: string): void {
    this.#decided.delete(shadowVersion)
  }
}

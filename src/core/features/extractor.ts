/**
 * A pure per-entity feature extractor: given an event, the entity's state before it and the
 * event time (ms since epoch), returns the event's features and the entity's next state.
 * State must be plain JSON (it is written to a compacted changelog topic).
 */
export type FeatureExtractor<E, S> = (
  event: E,
  state: S | undefined,
  eventTimeMs: number,
) => { features: Float64Array; nextState: S }

export interface FeatureSchema {
  /** Names of the vector positions, in order. */
  readonly names: readonly string[]
}

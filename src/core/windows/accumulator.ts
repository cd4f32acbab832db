// The running aggregates of one window, as plain JSON (it lives in a changelogged state store).

import type { AggregateDefinition } from './aggregation.ts'

/** One slot per aggregate: count and sum a number, min and max a number or null, mean [sum, n], distinct the values seen. */
export type AccumulatorSlot = number | null | [number, number] | string[]
export type Accumulator = AccumulatorSlot[]

/** An event's inputs to the aggregates, one per aggregate (null for count, or when the field is absent). */
export type AggregateInputs = (number | string | null)[]

export function emptyAccumulator(aggregates: readonly AggregateDefinition[]): Accumulator {
  return aggregates.map((aggregate): AccumulatorSlot => {
    switch (aggregate.op) {
      case 'count':
      case 'sum':
        return 0
      case 'min':
      case 'max':
        return null
      case 'mean':
        return [0, 0]
      default:
        return []
    }
  })
}

/** Adds one event's inputs to `accumulator`, in place (callers own the copy). */
export function accumulate(
  accumulator: Accumulator,
  aggregates: readonly AggregateDefinition[],
  inputs: AggregateInputs,
): void {
  for (let i = 0; i < aggregates.length; i++) {
    const op = aggregates[i]!.op
    if (op === 'count') {
      accumulator[i] = (accumulator[i] as number) + 1
      continue
    }
    const input = inputs[i]
    if (input === null || input === undefined) continue
    if (op === 'distinct') {
      const seen = accumulator[i] as string[]
      const text = String(input)
      if (!seen.includes(text)) seen.push(text)
      continue
    }
    if (typeof input !== 'number') continue
    const slot = accumulator[i]
    if (op === 'sum') accumulator[i] = (slot as number) + input
    else if (op === 'min') accumulator[i] = slot === null ? input : Math.min(slot as number, input)
    else if (op === 'max') accumulator[i] = slot === null ? input : Math.max(slot as number, input)
    else {
      const mean = slot as [number, number]
      mean[0] += input
      mean[1] += 1
    }
  }
}

/** A deep copy (slots that are arrays are copied). */
export function copyAccumulator(accumulator: Accumulator): Accumulator {
  return accumulator.map((slot) => (Array.isArray(slot) ? (slot.slice() as [number, number] | string[]) : slot))
}

/** The output `values`: each aggregate under its name; mean is null and min/max null with no values; distinct is a count. */
export function accumulatorValues(
  accumulator: Accumulator,
  aggregates: readonly AggregateDefinition[],
): Record<string, number | null> {
  const values: Record<string, number | null> = {}
  for (let i = 0; i < aggregates.length; i++) {
    const { op, as } = aggregates[i]!
    const slot = accumulator[i]!
    if (op === 'mean') {
      const [sum, n] = slot as [number, number]
      values[as] = n === 0 ? null : sum / n
    } else if (op === 'distinct') values[as] = (slot as string[]).length
    else values[as] = slot as number | null
  }
  return values
}

// A brute-force reference for the window aggregator, written independently of it: the
// watermark after each input is recomputed from all inputs so far, and each window's values
// from the list of its events.
import type { AggregationDefinition } from '../../../src/core/windows/aggregation.ts'
import type { AggregatorInput, WindowEvent } from '../../../src/core/windows/aggregator.ts'

export interface ReferenceWindow {
  aggregation: string
  key: string
  windowStart: number
  values: Record<string, number | null>
}

/** Watermark after input `i`: min over sources of (largest event time − lateness), never back; no idleness. */
export function referenceWatermarks(inputs: readonly AggregatorInput[], sources: number, latenessMs: number): number[] {
  const marks: number[] = []
  let best = Number.NEGATIVE_INFINITY
  for (let i = 0; i < inputs.length; i++) {
    const max = Array.from({ length: sources }, () => Number.NEGATIVE_INFINITY)
    for (let j = 0; j <= i; j++) {
      const input = inputs[j]!
      if (input.type === 'event') max[input.source] = Math.max(max[input.source]!, input.timeMs)
      if (input.type === 'mark') max[input.source] = Math.max(max[input.source]!, input.maxTimeMs)
    }
    best = Math.max(best, Math.min(...max) - latenessMs)
    marks.push(best)
  }
  return marks
}

/** Every window an event belongs to, by brute force over all window starts near it. */
export function windowsOf(timeMs: number, definition: AggregationDefinition): number[] {
  const { sizeMs, slideMs } = definition.window
  const starts: number[] = []
  for (let k = Math.floor((timeMs - sizeMs) / slideMs) - 1; k * slideMs <= timeMs; k++) {
    const start = k * slideMs
    if (start <= timeMs && timeMs < start + sizeMs) starts.push(start)
  }
  return starts
}

export function referenceValues(
  definition: AggregationDefinition,
  events: readonly WindowEvent[],
): Record<string, number | null> {
  const values: Record<string, number | null> = {}
  definition.aggregates.forEach((aggregate, i) => {
    const inputs = events.map((event) => event.inputs[i]).filter((value) => value !== null && value !== undefined)
    const numbers = inputs.filter((value): value is number => typeof value === 'number')
    switch (aggregate.op) {
      case 'count':
        values[aggregate.as] = events.length
        break
      case 'sum':
        values[aggregate.as] = numbers.reduce((sum, value) => sum + value, 0)
        break
      case 'min':
        values[aggregate.as] = numbers.length ? Math.min(...numbers) : null
        break
      case 'max':
        values[aggregate.as] = numbers.length ? Math.max(...numbers) : null
        break
      case 'mean':
        values[aggregate.as] = numbers.length ? numbers.reduce((sum, value) => sum + value, 0) / numbers.length : null
        break
      case 'distinct':
        values[aggregate.as] = new Set(inputs.map(String)).size
        break
    }
  })
  return values
}

/**
 * The final windows and the late (event, window) pairs: an event counts in a window when the
 * window's end plus grace is after the watermark that follows the event, else it is late for it.
 */
export function referenceResults(
  definitions: readonly AggregationDefinition[],
  inputs: readonly AggregatorInput[],
  sources: number,
  latenessMs: number,
): { windows: ReferenceWindow[]; late: { id: string; aggregation: string; windowStart: number }[] } {
  const watermarks = referenceWatermarks(inputs, sources, latenessMs)
  const members = new Map<string, WindowEvent[]>()
  const late: { id: string; aggregation: string; windowStart: number }[] = []
  inputs.forEach((input, i) => {
    if (input.type !== 'event') return
    const definition = definitions.find((d) => d.name === input.aggregation)!
    for (const start of windowsOf(input.timeMs, definition)) {
      if (start + definition.window.sizeMs + definition.graceMs <= watermarks[i]!) {
        late.push({ id: input.id!, aggregation: input.aggregation, windowStart: start })
        continue
      }
      const key = JSON.stringify([input.aggregation, input.key, start])
      const list = members.get(key) ?? []
      list.push(input)
      members.set(key, list)
    }
  })
  const windows: ReferenceWindow[] = []
  for (const [key, events] of members) {
    const [aggregation, group, start] = JSON.parse(key) as [string, string, number]
    const definition = definitions.find((d) => d.name === aggregation)!
    windows.push({ aggregation, key: group, windowStart: start, values: referenceValues(definition, events) })
  }
  return { windows, late }
}

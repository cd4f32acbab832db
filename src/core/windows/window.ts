// Event-time windows: tumbling (slide = size) and sliding (hopping: a window of `sizeMs` starts
// every `slideMs`). Windows are aligned to the Unix epoch, so every instance and every restart
// assigns an event to the same windows.

export interface WindowSpec {
  /** Length of a window, ms. */
  readonly sizeMs: number
  /** A new window starts every `slideMs` (≤ sizeMs); equal to sizeMs for tumbling windows. */
  readonly slideMs: number
}

/** The starts (ascending) of the windows [start, start + size) that contain `timeMs`. */
export function windowStarts(timeMs: number, spec: WindowSpec): number[] {
  const { sizeMs, slideMs } = spec
  const last = Math.floor(timeMs / slideMs) * slideMs
  const starts: number[] = []
  for (let start = last; start > timeMs - sizeMs; start -= slideMs) starts.push(start)
  return starts.reverse()
}

/** Whether `spec` is valid: positive whole milliseconds, slide no longer than size. */
export function windowSpecProblem(spec: WindowSpec): string | undefined {
  if (!Number.isInteger(spec.sizeMs) || spec.sizeMs < 1) return 'sizeMs must be a positive integer'
  if (!Number.isInteger(spec.slideMs) || spec.slideMs < 1) return 'slideMs must be a positive integer'
  if (spec.slideMs > spec.sizeMs) return `slideMs (${spec.slideMs}) must not exceed sizeMs (${spec.sizeMs})`
  return undefined
}

/**
 * The customer velocity window: the windows of the `customer-velocity` aggregation and of the
 * scorer's `rapid_fire` rule, so that the two count the same payments in the same windows.
 */
export function velocityWindow(options: { rapidFireWindowMs: number; rapidFireSlideMs: number }): WindowSpec {
  return { sizeMs: options.rapidFireWindowMs, slideMs: Math.min(options.rapidFireSlideMs, options.rapidFireWindowMs) }
}

/** The number of `times` (ms) inside [start, start + size). */
export function countInWindow(times: readonly number[], start: number, spec: WindowSpec): number {
  let count = 0
  const end = start + spec.sizeMs
  for (const time of times) if (time >= start && time < end) count++
  return count
}

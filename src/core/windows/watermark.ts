// The event-time clock of one aggregator partition. Its events come from every partition of
// the input topic (they are re-keyed by group), so it keeps a watermark per input partition,
// the largest event time seen there minus the allowed lateness, and its own watermark is the
// smallest of them: no input partition is left behind. Wall-clock time (the records' broker
// timestamps, and ticks) only serves the idle timeout: an input partition not heard from for
// `idleTimeoutMs` stops holding the watermark back, and when every input partition is idle the
// watermark follows the wall clock, so that the last windows close when a stream stops. Only an
// input partition that has nothing left to read is idle: ticks say which ones are still being
// read (`busy`), so a backlog (after a restart, behind an open transaction) is never taken for
// silence. The watermark never goes back.

export interface ClockOptions {
  /** Partitions of the input topic. */
  readonly sources: number
  readonly latenessMs: number
  readonly idleTimeoutMs: number
}

/** JSON state (null = none yet). */
export interface ClockState {
  /** Per input partition: the largest event time seen, ms. */
  max: (number | null)[]
  /** Per input partition: the wall-clock time it was last heard from, ms. */
  heard: (number | null)[]
  /** Wall-clock time of the first record this clock saw. */
  since: number | null
  /** Latest wall-clock time seen. */
  now: number | null
  watermark: number | null
  /** Input partitions that still had records to read at the latest tick. */
  busy?: number[]
}

export function emptyClock(sources: number): ClockState {
  return {
    max: Array.from({ length: sources }, () => null),
    heard: Array.from({ length: sources }, () => null),
    since: null,
    now: null,
    watermark: null,
  }
}

export function copyClock(clock: ClockState, sources: number): ClockState {
  const copy = emptyClock(sources)
  for (let i = 0; i < Math.min(sources, clock.max.length); i++) {
    copy.max[i] = clock.max[i] ?? null
    copy.heard[i] = clock.heard[i] ?? null
  }
  copy.since = clock.since
  copy.now = clock.now
  copy.watermark = clock.watermark
  if (clock.busy) copy.busy = [...clock.busy]
  return copy
}

/** Records wall-clock time `wallMs` and, when `source` is given, that it was heard from with events up to `eventTimeMs`. */
export function observe(clock: ClockState, wallMs: number, source?: number, eventTimeMs?: number): void {
  observeAt(clock, wallMs)
  if (source === undefined || eventTimeMs === undefined || source < 0 || source >= clock.max.length) return
  const max = clock.max[source]
  if (max === null || max === undefined || eventTimeMs > max) clock.max[source] = eventTimeMs
  const heard = clock.heard[source]
  if (heard === null || heard === undefined || wallMs > heard) clock.heard[source] = wallMs
}

/** A tick: wall-clock time `wallMs`, and the input partitions that still have records to read. */
export function observeTick(clock: ClockState, wallMs: number, busy: readonly number[]): void {
  observeAt(clock, wallMs)
  if (busy.length > 0) clock.busy = [...busy]
  else delete clock.busy
}

function observeAt(clock: ClockState, wallMs: number): void {
  if (clock.since === null) clock.since = wallMs
  if (clock.now === null || wallMs > clock.now) clock.now = wallMs
}

/** The watermark the clock's observations allow; −Infinity while there is none. */
export function candidateWatermark(clock: ClockState, options: ClockOptions): number {
  const now = clock.now
  if (now === null) return Number.NEGATIVE_INFINITY
  let activeMin = Number.POSITIVE_INFINITY
  let active = 0
  let waiting = false
  let maxAll = Number.NEGATIVE_INFINITY
  let lastHeard = Number.NEGATIVE_INFINITY
  for (let source = 0; source < options.sources; source++) {
    const heard = clock.heard[source] ?? null
    const max = clock.max[source] ?? null
    const busy = clock.busy?.includes(source) ?? false
    if (heard === null || max === null) {
      // never heard from: waited for while it has records to read, or the idle timeout has not passed since the clock started
      if (busy || clock.since === null || now - clock.since < options.idleTimeoutMs) waiting = true
      continue
    }
    if (max > maxAll) maxAll = max
    if (heard > lastHeard) lastHeard = heard
    if (busy || now - heard < options.idleTimeoutMs) {
      active++
      if (max - options.latenessMs < activeMin) activeMin = max - options.latenessMs
    }
  }
  if (waiting) return Number.NEGATIVE_INFINITY
  if (active > 0) return activeMin
  if (maxAll === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY
  // every input partition idle: follow the wall clock (and never less than the idle time beyond the timeout)
  return Math.max(now - options.latenessMs, maxAll - options.latenessMs + (now - lastHeard - options.idleTimeoutMs))
}

/** Moves the watermark forward to what the observations allow; returns it. */
export function advance(clock: ClockState, options: ClockOptions): number {
  const candidate = candidateWatermark(clock, options)
  const current = clock.watermark ?? Number.NEGATIVE_INFINITY
  if (candidate > current) clock.watermark = candidate
  return clock.watermark ?? Number.NEGATIVE_INFINITY
}

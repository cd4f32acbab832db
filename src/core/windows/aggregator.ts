// The window aggregator of one partition: events (already grouped: every event of a group key
// comes to the same partition), per-input-partition watermark progress and wall-clock ticks in;
// window results and late events out. Pure: its state lives in the key-value store it is given
// (the processor runtime's changelogged StateStore), and time comes from the inputs.
//
// A window [start, end) of an aggregation with grace g closes when the watermark reaches
// end + g: its final result is emitted and it is evicted. An event whose windows include closed
// ones is late for those: it is counted (a per-window count kept for one window length after
// the close) and reported once per missed window, never dropped silently. When more than
// `maxOpenWindows` windows are open, the watermark is moved to the close of the earliest ones
// (reported as closed by the cap), so memory stays bounded.

import {
  type Accumulator,
  type AggregateInputs,
  accumulate,
  accumulatorValues,
  copyAccumulator,
  emptyAccumulator,
} from './accumulator.ts'
import type { AggregationDefinition } from './aggregation.ts'
import {
  advance,
  type ClockOptions,
  type ClockState,
  copyClock,
  emptyClock,
  observe,
  observeTick,
} from './watermark.ts'
import { windowStarts } from './window.ts'

/** The store the aggregator keeps its state in (the runtime's StateStore has this shape). */
export interface KeyValueStore {
  get<T>(key: string): T | undefined
  put(key: string, value: unknown): void
  delete(key: string): void
  entries(): IterableIterator<[string, unknown]>
  pendingChanges(): IterableIterator<[string, unknown]>
}

/** One event of an aggregation, from input partition `source`, that reached this partition at wall-clock `wallMs`. */
export interface WindowEvent {
  readonly type: 'event'
  readonly aggregation: string
  readonly key: string
  readonly timeMs: number
  readonly inputs: AggregateInputs
  readonly source: number
  readonly wallMs: number
  /** The event's id, carried into late-event reports. */
  readonly id?: string
}

/** Input partition `source` has seen events up to `maxTimeMs` (sent to every aggregator partition). */
export interface WatermarkMark {
  readonly type: 'mark'
  readonly source: number
  readonly maxTimeMs: number
  readonly wallMs: number
}

/** Wall-clock time passes (drives the idle timeout). */
export interface ClockTick {
  readonly type: 'tick'
  readonly wallMs: number
  /** Input partitions that still have records to read (never idle); none when absent. */
  readonly busy?: readonly number[]
}

export type AggregatorInput = WindowEvent | WatermarkMark | ClockTick

export interface WindowResult {
  readonly type: 'result'
  readonly aggregation: string
  readonly key: string
  readonly windowStart: number
  readonly windowEnd: number
  readonly values: Record<string, number | null>
  readonly final: boolean
  /** For final results: closed by the watermark, or early by the open-window cap. */
  readonly closedBy?: 'watermark' | 'cap'
}

export interface LateEvent {
  readonly type: 'late'
  readonly aggregation: string
  readonly key: string
  readonly windowStart: number
  readonly windowEnd: number
  readonly eventTime: number
  readonly watermark: number
  /** Late events of this window so far, this one included. */
  readonly lateCount: number
  readonly id?: string
}

export type AggregatorOutput = WindowResult | LateEvent

export interface AggregatorOptions extends ClockOptions {
  /** Most open windows per partition (all aggregations together). */
  readonly maxOpenWindows: number
}

/** A group's windows: [start, accumulator] by start, and late counters [start, count] of closed windows. */
interface GroupState {
  w: [number, Accumulator][]
  l?: [number, number][]
}

/** What the aggregator knows of a store beyond it: when each window closes, and how many are open. */
interface StoreIndex {
  open: number
  /** Close times (end + grace) of open windows, ascending, and the windows closing then. */
  closeTimes: number[]
  closing: Map<number, [string, number][]>
  /** Times at which late counters are dropped, ascending, and which. */
  expiryTimes: number[]
  expiring: Map<number, [string, number][]>
}

const clockKey = '~clock'
const groupPrefix = 'w|'

function groupStoreKey(aggregation: string, key: string): string {
  return `${groupPrefix}${aggregation}|${key}`
}

function splitGroupKey(storeKey: string): { aggregation: string; key: string } {
  const rest = storeKey.slice(groupPrefix.length)
  const bar = rest.indexOf('|')
  return { aggregation: rest.slice(0, bar), key: rest.slice(bar + 1) }
}

function insertSorted(list: number[], value: number): void {
  let low = 0
  let high = list.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (list[mid]! < value) low = mid + 1
    else high = mid
  }
  if (list[low] !== value) list.splice(low, 0, value)
}

function addTo(times: number[], map: Map<number, [string, number][]>, at: number, entry: [string, number]): void {
  const list = map.get(at)
  if (list) list.push(entry)
  else {
    map.set(at, [entry])
    insertSorted(times, at)
  }
}

export class WindowAggregator {
  readonly #definitions: Map<string, AggregationDefinition>
  readonly #options: AggregatorOptions
  readonly #indexes = new WeakMap<object, StoreIndex>()

  constructor(definitions: readonly AggregationDefinition[], options: AggregatorOptions) {
    this.#definitions = new Map(definitions.map((definition) => [definition.name, definition]))
    this.#options = options
  }

  get definitions(): readonly AggregationDefinition[] {
    return [...this.#definitions.values()]
  }

  /** Open windows in `store` (all aggregations). */
  openWindows(store: KeyValueStore): number {
    return this.#index(store).open
  }

  /** The partition's watermark (−Infinity before there is one). */
  watermark(store: KeyValueStore): number {
    return store.get<ClockState>(clockKey)?.watermark ?? Number.NEGATIVE_INFINITY
  }

  /** Processes one partition's inputs in order; writes the state changes to `store`. */
  process(store: KeyValueStore, inputs: readonly AggregatorInput[]): AggregatorOutput[] {
    const index = this.#index(store)
    const options = this.#options
    const stored = store.get<ClockState>(clockKey)
    const clock = stored ? copyClock(stored, options.sources) : emptyClock(options.sources)
    const touched = new Map<string, GroupState>()
    const updated = new Map<string, Set<number>>()
    const outputs: AggregatorOutput[] = []
    const touch = (storeKey: string): GroupState => {
      let group = touched.get(storeKey)
      if (!group) {
        const before = store.get<GroupState>(storeKey)
        group = before
          ? {
              w: before.w.map(([start, acc]) => [start, copyAccumulator(acc)]),
              ...(before.l ? { l: before.l.map(([s, n]) => [s, n]) } : {}),
            }
          : { w: [] }
        touched.set(storeKey, group)
      }
      return group
    }

    const close = (watermark: number) => {
      while (index.closeTimes.length > 0 && index.closeTimes[0]! <= watermark) {
        const at = index.closeTimes.shift()!
        const entries = index.closing.get(at)!
        index.closing.delete(at)
        for (const [storeKey, start] of entries) {
          const group = touch(storeKey)
          const position = group.w.findIndex(([s]) => s === start)
          if (position < 0) continue
          const [, acc] = group.w[position]!
          group.w.splice(position, 1)
          index.open--
          updated.get(storeKey)?.delete(start)
          const { aggregation, key } = splitGroupKey(storeKey)
          const definition = this.#definitions.get(aggregation)
          if (!definition) continue
          outputs.push({
            type: 'result',
            aggregation,
            key,
            windowStart: start,
            windowEnd: start + definition.window.sizeMs,
            values: accumulatorValues(acc, definition.aggregates),
            final: true,
            closedBy: forcing ? 'cap' : 'watermark',
          })
        }
      }
      while (index.expiryTimes.length > 0 && index.expiryTimes[0]! <= watermark) {
        const at = index.expiryTimes.shift()!
        const entries = index.expiring.get(at)!
        index.expiring.delete(at)
        for (const [storeKey, start] of entries) {
          const group = touch(storeKey)
          if (group.l) group.l = group.l.filter(([s]) => s !== start)
          if (group.l?.length === 0) delete group.l
        }
      }
    }
    let forcing = false

    for (const input of inputs) {
      if (input.type === 'tick') observeTick(clock, input.wallMs, input.busy ?? [])
      else if (input.type === 'mark') observe(clock, input.wallMs, input.source, input.maxTimeMs)
      else observe(clock, input.wallMs, input.source, input.timeMs)
      let watermark = advance(clock, options)
      close(watermark)
      if (input.type !== 'event') continue

      const definition = this.#definitions.get(input.aggregation)
      if (!definition) continue // routed before the aggregation was removed from the configuration
      const { sizeMs } = definition.window
      const storeKey = groupStoreKey(input.aggregation, input.key)
      const group = touch(storeKey)
      for (const start of windowStarts(input.timeMs, definition.window)) {
        const closeAt = start + sizeMs + definition.graceMs
        if (closeAt <= watermark) {
          group.l ??= []
          let counter = group.l.find(([s]) => s === start)
          if (!counter) {
            counter = [start, 0]
            group.l.push(counter)
            addTo(index.expiryTimes, index.expiring, closeAt + sizeMs, [storeKey, start])
          }
          counter[1]++
          outputs.push({
            type: 'late',
            aggregation: input.aggregation,
            key: input.key,
            windowStart: start,
            windowEnd: start + sizeMs,
            eventTime: input.timeMs,
            watermark,
            lateCount: counter[1],
            ...(input.id === undefined ? {} : { id: input.id }),
          })
          continue
        }
        let window = group.w.find(([s]) => s === start)
        if (!window) {
          window = [start, emptyAccumulator(definition.aggregates)]
          let at = group.w.length
          while (at > 0 && group.w[at - 1]![0] > start) at--
          group.w.splice(at, 0, window)
          index.open++
          addTo(index.closeTimes, index.closing, closeAt, [storeKey, start])
        }
        accumulate(window[1], definition.aggregates, input.inputs)
        if (definition.emit === 'update') {
          let starts = updated.get(storeKey)
          if (!starts) {
            starts = new Set()
            updated.set(storeKey, starts)
          }
          starts.add(start)
        }
      }
      while (index.open > options.maxOpenWindows && index.closeTimes.length > 0) {
        // over the cap: the watermark moves to the earliest close, which closes those windows
        clock.watermark = index.closeTimes[0]!
        watermark = clock.watermark
        forcing = true
        close(watermark)
        forcing = false
      }
    }

    for (const [storeKey, starts] of updated) {
      if (starts.size === 0) continue
      const group = touched.get(storeKey)!
      const { aggregation, key } = splitGroupKey(storeKey)
      const definition = this.#definitions.get(aggregation)!
      for (const [start, acc] of group.w) {
        if (!starts.has(start)) continue
        outputs.push({
          type: 'result',
          aggregation,
          key,
          windowStart: start,
          windowEnd: start + definition.window.sizeMs,
          values: accumulatorValues(acc, definition.aggregates),
          final: false,
        })
      }
    }
    for (const [storeKey, group] of touched) {
      if (group.w.length === 0 && !group.l) store.delete(storeKey)
      else store.put(storeKey, group)
    }
    store.put(clockKey, clock)
    return outputs
  }

  /** The index of `store`, built from its contents the first time it is seen. */
  #index(store: KeyValueStore): StoreIndex {
    let index = this.#indexes.get(store)
    if (index) return index
    index = { open: 0, closeTimes: [], closing: new Map(), expiryTimes: [], expiring: new Map() }
    const contents = new Map<string, unknown>(store.entries())
    for (const [key, value] of store.pendingChanges()) contents.set(key, value)
    for (const [storeKey, value] of contents) {
      if (!storeKey.startsWith(groupPrefix) || value === undefined || value === null) continue
      const { aggregation } = splitGroupKey(storeKey)
      const definition = this.#definitions.get(aggregation)
      const group = value as GroupState
      // windows of an aggregation no longer configured close at once
      const sizeMs = definition?.window.sizeMs ?? 0
      const graceMs = definition?.graceMs ?? 0
      for (const [start] of group.w) {
        index.open++
        addTo(index.closeTimes, index.closing, definition ? start + sizeMs + graceMs : Number.NEGATIVE_INFINITY, [
          storeKey,
          start,
        ])
      }
      for (const [start] of group.l ?? [])
        addTo(index.expiryTimes, index.expiring, start + 2 * sizeMs + graceMs, [storeKey, start])
    }
    this.#indexes.set(store, index)
    return index
  }
}

// The latest window aggregates: the console follows window-aggregates (from a little before its
// end) and keeps, per aggregation, its newest windows with every group's latest values (a
// window's final result replaces its running ones).

import type { Config } from '../config/settings.ts'
import { topicName } from '../kafka/topics.ts'
import { configuredAggregations } from '../services/aggregate.ts'
import { type FollowedMessage, recordsBeforeEnd, TopicFollower } from './follow.ts'
import { type ConsoleKafka, NotFound } from './kafka.ts'

const windowsKept = 24
const groupsPerWindow = 5_000
const backlog = 5_000n

interface GroupValues {
  values: Record<string, number | null>
  final: boolean
  at: number
}

interface WindowState {
  start: number
  end: number
  groups: Map<string, GroupValues>
  /** Results of new groups not kept because the window already held `groupsPerWindow`. */
  dropped: number
}

export interface AggregationInfo {
  name: string
  key: string
  sizeMs: number
  slideMs: number
  emit: string
  aggregates: { name: string; op: string; field?: string }[]
}

export class WindowsView {
  readonly #topic: string
  readonly #follower: TopicFollower
  readonly #definitions: Map<string, AggregationInfo>
  /** Per aggregation, its windows by start. */
  readonly #windows = new Map<string, Map<number, WindowState>>()
  #records = 0

  constructor(kafka: ConsoleKafka, config: Config) {
    this.#topic = topicName(config['topics.prefix'], 'windowAggregates')
    this.#definitions = new Map(
      configuredAggregations(config).map((definition) => [
        definition.name,
        {
          name: definition.name,
          key: definition.key,
          sizeMs: definition.window.sizeMs,
          slideMs: definition.window.slideMs,
          emit: definition.emit,
          aggregates: definition.aggregates.map((aggregate) => ({
            name: aggregate.as,
            op: aggregate.op,
            ...(aggregate.field ? { field: aggregate.field } : {}),
          })),
        },
      ]),
    )
    this.#follower = new TopicFollower(kafka, {
      name: 'windows',
      topics: [this.#topic],
      startAt: (_topic, partition) => recordsBeforeEnd(backlog, partition),
      onRecord: (message) => this.#record(message),
    })
  }

  start(): void {
    this.#follower.start()
  }

  stop(): Promise<void> {
    return this.#follower.stop()
  }

  #record(message: FollowedMessage) {
    const result = JSON.parse(message.value?.toString() ?? '') as {
      aggregation?: unknown
      key?: unknown
      windowStart?: unknown
      windowEnd?: unknown
      values?: unknown
      final?: unknown
    }
    const start = time(result.windowStart)
    const end = time(result.windowEnd)
    if (typeof result.aggregation !== 'string' || typeof result.key !== 'string' || start === null || end === null)
      return
    if (typeof result.values !== 'object' || result.values === null) return
    this.#records++
    let windows = this.#windows.get(result.aggregation)
    if (!windows) {
      windows = new Map()
      this.#windows.set(result.aggregation, windows)
    }
    let window = windows.get(start)
    if (!window) {
      const oldest = Math.min(...windows.keys())
      // a result for a window older than every kept one, when the kept ones are full, is history
      if (windows.size >= windowsKept && start < oldest) return
      window = { start, end, groups: new Map(), dropped: 0 }
      windows.set(start, window)
      if (windows.size > windowsKept) windows.delete(Math.min(...windows.keys()))
    }
    const existing = window.groups.get(result.key)
    if (!existing && window.groups.size >= groupsPerWindow) {
      window.dropped++
      return
    }
    // a running result never replaces the final one (they can arrive from one batch in any order)
    if (existing?.final && result.final !== true) return
    window.groups.set(result.key, {
      values: result.values as Record<string, number | null>,
      final: result.final === true,
      at: Number(message.timestamp),
    })
  }

  #names(): string[] {
    return [...new Set([...this.#definitions.keys(), ...this.#windows.keys()])]
  }

  /** Every aggregation with its recent windows (totals) and its newest window's top groups. */
  view(limit: number) {
    return {
      topic: this.#topic,
      records: this.#records,
      aggregations: this.#names().map((name) => this.aggregation(name, limit)),
    }
  }

  /**
   * One aggregation: its definition (when configured here); its kept windows oldest first, each
   * with its group count and the sums over its groups of the additive values (count and sum);
   * one window's groups (the newest, or the one starting at `windowStart`) sorted by the first
   * value, at most `limit`; and the first value of that window's top 5 groups in every kept window.
   */
  aggregation(name: string, limit: number, windowStart?: number) {
    const windows = this.#windows.get(name)
    const definition = this.#definitions.get(name) ?? null
    if (!windows && !definition)
      throw new NotFound(
        `no aggregation "${name}": none is configured or seen on ${this.#topic} (known: ${this.#names().join(', ') || 'none'})`,
      )
    const ordered = [...(windows?.values() ?? [])].sort((a, b) => a.start - b.start)
    const names = definition?.aggregates.map((aggregate) => aggregate.name) ?? [
      ...new Set(ordered.flatMap((w) => [...w.groups.values()].flatMap((g) => Object.keys(g.values)))),
    ]
    const additive = definition
      ? definition.aggregates.filter((a) => a.op === 'count' || a.op === 'sum').map((a) => a.name)
      : names.filter((value) => value === 'count' || value === 'sum')
    const chosen = windowStart === undefined ? ordered.at(-1) : ordered.find((window) => window.start === windowStart)
    if (windowStart !== undefined && !chosen)
      throw new NotFound(
        `aggregation "${name}" has no kept window starting at ${new Date(windowStart).toISOString()} (${ordered.length} kept)`,
      )
    const first = names[0]
    const rows = chosen
      ? [...chosen.groups]
          .map(([key, group]) => ({ key, values: group.values, final: group.final }))
          .sort((a, b) => (first ? (b.values[first] ?? 0) - (a.values[first] ?? 0) : 0) || a.key.localeCompare(b.key))
      : []
    return {
      name,
      definition,
      valueNames: names,
      windows: ordered.map((window) => {
        const groups = [...window.groups.values()]
        return {
          start: window.start,
          end: window.end,
          groups: groups.length,
          final: groups.length > 0 && groups.every((group) => group.final),
          totals: Object.fromEntries(
            additive.map((value) => [value, groups.reduce((sum, group) => sum + (group.values[value] ?? 0), 0)]),
          ),
          dropped: window.dropped,
        }
      }),
      window: chosen
        ? {
            start: chosen.start,
            end: chosen.end,
            groups: chosen.groups.size,
            final: rows.length > 0 && rows.every((row) => row.final),
            rows: rows.slice(0, limit),
          }
        : null,
      top: first
        ? rows.slice(0, 5).map((row) => ({
            key: row.key,
            values: ordered.map((window) => window.groups.get(row.key)?.values[first] ?? null),
          }))
        : [],
    }
  }
}

function time(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string') {
    const parsed = Date.parse(value)
    return Number.isNaN(parsed) ? null : parsed
  }
  return null
}

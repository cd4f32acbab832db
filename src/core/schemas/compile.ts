// A validated event schema turned into what enrich and score run: decoding of a record (a
// record that does not match says which field and why: that is its dead-letter reason), the
// entity key, the event time, and the declared features computed per entity on event time,
// with the entity's state written as plain JSON (the enrich service keeps it in its changelogged
// store; in memory its windows are `WindowRun`s).
//
// Feature semantics, for an event at time t of an entity (its "history" is the entity's
// earlier events in arrival order; the state holds exactly what these need):
// - number: the field (a boolean as 1/0); log1p: sign(x)·log(1 + |x|).
// - mean: the mean of the field over the history (x itself when there is none); zscore: (x −
//   mean) / sample standard deviation of the history, 0 with fewer than two values, ±50 at
//   most; ratio_to_mean: x / mean, 1 without history, ±1000 at most.
// - robust_zscore: (x − median) / (1.4826·MAD) over the last `recent` (32) values of the
//   history, 0 with fewer than 5 values; a zero MAD falls back to √(π/2)·mean absolute
//   deviation, then to 0 for x = median and ±50 otherwise; ±50 at most.
// - count / sum over a window W: events of the entity (this one included) with event time in
//   (t − W, t], and the sum of the field over them. The state keeps events newer than the
//   newest event time − W (at most 10,000), so a late event older than that misses them.
// - seconds_since_previous: seconds from the newest earlier event time to t, in [0, 7 days];
//   7 days for the entity's first event; 0 for a late event.
// - first_seen: 1 when the value never occurred in the history; frequency: the share of the
//   history with this value (0 without history). At most 256 distinct values per field are
//   remembered (the rarest is forgotten first).
// - hour_of_day / day_of_week: sin and cos of the UTC hour (with minutes) on the 24-hour
//   circle and of the weekday (Monday 0, with the hour) on the 7-day circle, of the event time
//   or of a timestamp field.
// - one_hot: 1 in the column of the value, 0 elsewhere (all 0 for an unlisted value).
// - count without a window: the entity's events so far, this one included.
// - cycle: sin and cos of 2π·x/period (an hour of the day 0–23 with period 24).
// - lookup: the table's number for the value (compared as text), `default` (0) for any other.
import { parseCommonTimestamp, parseEventTime } from '../features/event-time.ts'
import { allocateFeatures } from '../features/feature-vector.ts'
import { robustZScore } from '../features/recent-values.ts'
import { ratioToAverage, signedLog1p } from '../features/scaling.ts'
import { type WelfordState, welfordUpdate, welfordZScore, zScoreLimit } from '../features/welford.ts'
import {
  type EventSchemaDeclaration,
  type FeatureDeclaration,
  type FieldType,
  featureColumns,
  parseDuration,
} from './declaration.ts'

/** A record of a declared schema, as it flows through enrich and score. */
export interface DeclaredEvent {
  /** The schema's name. */
  kind: string
  /** The record as it arrived. */
  record: Record<string, unknown>
  /** Event time, ms since epoch (the event-time field, or the record's timestamp). */
  time: number
}

export interface SchemaState {
  /** Fingerprint of the features the state was built for; a state of others is ignored. */
  readonly v: string
  /** Events of the entity so far. */
  readonly n: number
  /** Newest event time seen, ms. */
  readonly latest: number
  readonly welford: Readonly<Record<string, WelfordState>>
  readonly recent: Readonly<Record<string, readonly number[]>>
  /**
   * The events inside each window, in event-time order: a `WindowRun` in the state enrich
   * makes, a `StoredWindow` in its JSON (and in a state read back from it).
   */
  readonly windows: Readonly<Record<string, WindowRun | StoredWindow | readonly (readonly [number, number])[]>>
  readonly counts: Readonly<Record<string, Readonly<Record<string, number>>>>
}

export const maxWindowEvents = 10_000
export const maxCategories = 256
export const defaultRecent = 32
export const maxGapSeconds = 7 * 24 * 3600

export interface CompiledSchema {
  readonly declaration: EventSchemaDeclaration
  readonly name: string
  /** Column names of the feature vector, in order. */
  readonly featureNames: readonly string[]
  /** Columns the per-entity statistics detector follows (zscore and robust_zscore features). */
  readonly statisticColumns: readonly number[]
  /** Declared field types by path (CSV cells are converted by them). */
  readonly fieldTypes: ReadonlyMap<string, FieldType>
  /**
   * Checks a record against the schema; throws an Error whose message names the field and the
   * reason (the dead-letter reason). `recordTimestamp` (ms) is the event time when the schema
   * declares no event-time field.
   */
  decode(record: unknown, recordTimestamp?: number): DeclaredEvent
  /** The event time of a record from its event-time field (NaN when the schema declares none). */
  time(record: Record<string, unknown>): number
  /** The entity key, id, label and features of a record itself (at event time `t`). */
  recordKey(record: Record<string, unknown>): string
  recordId(record: Record<string, unknown>, t: number): string
  recordLabel(record: Record<string, unknown>): 0 | 1 | undefined
  extractRecord(
    record: Record<string, unknown>,
    t: number,
    state: unknown,
  ): { features: Float64Array; nextState: SchemaState }
  entityKey(event: DeclaredEvent): string
  id(event: DeclaredEvent): string
  label(event: DeclaredEvent): 0 | 1 | undefined
  /** The features of `event` given its entity's state before it, and the state after it. */
  extract(event: DeclaredEvent, state: unknown): { features: Float64Array; nextState: SchemaState }
}

/** Dotted paths already split (the paths of declarations: a bounded set). */
const splitPaths = new Map<string, readonly string[]>()

/** The value at a dotted path (`location.lat`, `items.0`), or undefined. */
export function valueAt(record: unknown, path: string): unknown {
  if (record === null || typeof record !== 'object') return undefined
  // a plain field name is read directly: most fields are, and this runs for every feature of every event
  if (Object.hasOwn(record, path)) return (record as Record<string, unknown>)[path]
  let parts = splitPaths.get(path)
  if (parts === undefined) {
    parts = path.split('.')
    if (splitPaths.size < 10_000) splitPaths.set(path, parts)
  }
  if (parts.length === 1) return undefined
  let value: unknown = record
  for (const part of parts) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

/** Reads one declared path of a record: `valueAt(record, path)`, worked out once per path. */
export type Accessor = (record: unknown) => unknown

/**
 * The accessor of `path`. A plain name that no object inherits (most fields) is a direct
 * property read, since a parsed JSON object has no other prototype; any other path goes
 * through `valueAt`. Validation and features read about fifty fields per event this way.
 */
export function accessor(path: string): Accessor {
  if (path.includes('.') || path in Object.prototype || path === '__proto__') return (record) => valueAt(record, path)
  return (record) =>
    record === null || typeof record !== 'object' || Array.isArray(record)
      ? valueAt(record, path)
      : (record as Record<string, unknown>)[path]
}

/** Epoch ms of a time value: ISO-8601 text, or epoch seconds (below 1e11) or milliseconds. */
export function timeValue(value: unknown): number {
  if (typeof value === 'number')
    return Number.isFinite(value) ? (Math.abs(value) < 1e11 ? value * 1000 : value) : Number.NaN
  if (typeof value !== 'string') return Number.NaN
  // the common ISO-8601 shape first: it is never a number, and most event times are in it
  const common = parseCommonTimestamp(value)
  if (common !== undefined) return common
  if (value.trim() === '') return Number.NaN
  const numeric = Number(value)
  if (Number.isFinite(numeric)) return timeValue(numeric)
  return parseEventTime(value)
}

/** A declared field, as decoding checks it. */
interface FieldCheck {
  readonly path: string
  readonly get: Accessor
  readonly type: FieldType
  readonly optional: boolean
}

/**
 * Throws (the dead-letter reason) when `value`, the field's value in a record, does not match
 * its declaration. Returns the field's time (epoch ms) for a timestamp field, else NaN.
 */
function checkField(value: unknown, { path, type, optional }: FieldCheck): number {
  if (value === undefined || value === null) {
    if (optional) return Number.NaN
    throw new Error(`field ${path} is missing`)
  }
  const time = type === 'timestamp' ? timeValue(value) : Number.NaN
  const ok =
    type === 'number'
      ? typeof value === 'number' && Number.isFinite(value)
      : type === 'string'
        ? typeof value === 'string'
        : type === 'boolean'
          ? typeof value === 'boolean'
          : Number.isFinite(time)
  if (!ok) {
    const expected =
      type === 'number'
        ? 'a finite number'
        : type === 'timestamp'
          ? 'a time (ISO-8601 or epoch seconds/milliseconds)'
          : `a ${type}`
    throw new Error(`field ${path} must be ${expected}, got ${JSON.stringify(value)}`)
  }
  return time
}

/** A number field's value (a boolean as 1/0). */
function asNumber(value: unknown): number {
  return typeof value === 'boolean' ? (value ? 1 : 0) : (value as number)
}

/** A short stable fingerprint (FNV-1a) of a text. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return (hash >>> 0).toString(36)
}

/** The robust z-score of x against `values` (see the header). */
export function robustZ(values: readonly number[], x: number): number {
  return robustZScore(values, x, 0)
}

/**
 * A window's events as the entity's state is written (and read back): their times in order,
 * each as its gap in ms from the one before (the first as its distance from the entity's latest
 * event time) when every time is a whole number of ms, else as they are (`a`); and their values
 * for a sum (a count's are all 1). Gaps take a third of the bytes of epoch times, and the state
 * is written to the changelog in every batch that has an event of its entity.
 * States written before kept `[time, value]` pairs; they are read as well.
 */
export type StoredWindow =
  | { readonly t: readonly number[]; readonly v?: readonly number[] }
  | {
      readonly a: readonly number[]
      readonly v?: readonly number[]
    }

/**
 * A window's events in memory: the run [from, to) of `times` (ascending) and, for a sum, of
 * `values`. Successive states of an entity share the arrays: an event in time order is pushed
 * at their end, and each state reads only its own run, so no state ever sees a change (a state
 * whose batch is aborted still reads its run; the next event then finds the arrays longer than
 * its run and copies). Written to the changelog as a `StoredWindow`, built when written.
 */
export class WindowRun {
  readonly times: number[]
  readonly values: number[] | undefined
  readonly from: number
  readonly to: number
  /** The entity's latest event time when the run was made: the gaps are counted from it. */
  readonly latest: number

  constructor(times: number[], values: number[] | undefined, from: number, to: number, latest: number) {
    this.times = times
    this.values = values
    this.from = from
    this.to = to
    this.latest = latest
  }

  toJSON(): StoredWindow {
    const { times, from, to, latest } = this
    const values = this.values?.slice(from, to)
    let whole = Number.isSafeInteger(latest)
    const gaps = new Array<number>(to - from)
    let previous = latest
    for (let i = from; i < to; i++) {
      const time = times[i]!
      if (!Number.isSafeInteger(time)) whole = false
      gaps[i - from] = time - previous
      previous = time
    }
    if (!whole) {
      const kept = times.slice(from, to)
      return values === undefined ? { a: kept } : { a: kept, v: values }
    }
    return values === undefined ? { t: gaps } : { t: gaps, v: values }
  }
}

/** A window as the state before an event holds it: a run, or its JSON (or the old pairs) when read back. */
function readWindow(
  stored: WindowRun | StoredWindow | readonly (readonly [number, number])[] | undefined,
  latest: number,
  sum: boolean,
): WindowRun {
  if (stored instanceof WindowRun) return stored
  // the arrays of a parsed state belong to it: the run gets copies
  let times: number[]
  let values: number[] | undefined
  if (stored === undefined) {
    times = []
    values = sum ? [] : undefined
  } else if (Array.isArray(stored)) {
    times = stored.map((entry) => entry[0])
    values = sum ? stored.map((entry) => entry[1]) : undefined
  } else {
    const window = stored as StoredWindow
    values = sum ? [...(window.v ?? [])] : undefined
    if ('a' in window) times = [...window.a]
    else {
      times = new Array<number>(window.t.length)
      let time = latest
      for (let i = 0; i < times.length; i++) {
        time += window.t[i]!
        times[i] = time
      }
    }
  }
  return new WindowRun(times, values, 0, times.length, latest)
}

/**
 * The run after an event at `t` (`value` for a sum): events at or before `cutoff` dropped, the
 * event inserted in time order if it is after `cutoff`, at most `maxWindowEvents` kept.
 */
function nextRun(run: WindowRun, t: number, value: number, cutoff: number, latest: number): WindowRun {
  let { times, values, to } = run
  let from = after(times, cutoff, run.from, to)
  if (t > cutoff) {
    const inOrder = to === from || times[to - 1]! <= t
    if (!(inOrder && times.length === to)) {
      // out of order, or the arrays were pushed past this run: a copy of the run
      times = times.slice(from, to)
      values = values?.slice(from, to)
      to -= from
      from = 0
    }
    const at = after(times, t, from, to)
    if (at === to) {
      times.push(t)
      values?.push(value)
    } else {
      times.splice(at, 0, t)
      values?.splice(at, 0, value)
    }
    to++
  }
  if (to - from > maxWindowEvents) from = to - maxWindowEvents
  // the dropped events are let go once they are most of the arrays
  if (from > 64 && from * 2 > times.length) {
    times = times.slice(from, to)
    values = values?.slice(from, to)
    to -= from
    from = 0
  }
  return new WindowRun(times, values, from, to, latest)
}

/** The first index in [from, to) of `times` (ascending there) whose time is after `time`, or `to`. */
function after(times: readonly number[], time: number, from = 0, to = times.length): number {
  let low = from
  let high = to
  // most lookups are at or near the end (the newest event, or the window's start in a short window)
  if (high === low || times[high - 1]! <= time) return high
  while (low < high) {
    const middle = (low + high) >>> 1
    if (times[middle]! <= time) low = middle + 1
    else high = middle
  }
  return low
}

const hourMs = 3_600_000
const dayMs = 86_400_000

/** The angle of `value` on a circle of `period` (its sin and cos are a feature's two columns). */
function angleOf(value: number, period: number): number {
  return (2 * Math.PI * value) / period
}

/**
 * One declared feature, with what computing it per event needs worked out once: the reader of
 * its field, its state keys, its window.
 */
interface FeaturePlan {
  readonly feature: FeatureDeclaration
  readonly type: FeatureDeclaration['type']
  /** Its field's accessor (undefined for a feature without a field). */
  readonly get: Accessor | undefined
  readonly field: string
  /** count and sum over a window: the window's length and the index of the kept window it reads. */
  readonly windowMs: number
  readonly window: number
  /** robust_zscore: its key in the state's `recent`. */
  readonly recentKey: string
}

/** A count over a window, or a sum: a feature that reads the events of a kept window. */
function isWindowed(feature: FeatureDeclaration): boolean {
  return (feature.type === 'count' && feature.window !== undefined) || feature.type === 'sum'
}

/** Compiles a validated declaration. */
export function compileSchema(declaration: EventSchemaDeclaration): CompiledSchema {
  const fieldTypes = new Map(declaration.fields.map((field) => [field.name, field.type]))
  const featureNames = declaration.features.flatMap(featureColumns)
  // the state layout's own version goes into the fingerprint too (windows are kept in time order)
  const version = fingerprint(`2:${JSON.stringify(declaration.features)}`)
  const statisticColumns: number[] = []
  {
    let column = 0
    for (const feature of declaration.features) {
      if (feature.type === 'zscore' || feature.type === 'robust_zscore') statisticColumns.push(column)
      column += featureColumns(feature).length
    }
  }
  const accessors = new Map<string, Accessor>()
  const get = (path: string): Accessor => {
    let read = accessors.get(path)
    if (read === undefined) {
      read = accessor(path)
      accessors.set(path, read)
    }
    return read
  }
  const windowKey = (feature: FeatureDeclaration) => `${feature.field ?? ''}@${parseDuration(feature.window)}`
  const recentKey = (feature: FeatureDeclaration) => `${feature.field}#${feature.recent ?? defaultRecent}`
  // the windows and recent values the state keeps
  const windowKeys = new Map<string, number>()
  const recentKeys = new Map<string, { keep: number; field: string }>()
  const welfordFields = new Set<string>()
  const categoryFields = new Set<string>()
  for (const feature of declaration.features) {
    if (isWindowed(feature)) windowKeys.set(windowKey(feature), parseDuration(feature.window))
    if (feature.type === 'robust_zscore')
      recentKeys.set(recentKey(feature), { keep: feature.recent ?? defaultRecent, field: feature.field! })
    if (feature.type === 'mean' || feature.type === 'zscore' || feature.type === 'ratio_to_mean')
      welfordFields.add(feature.field!)
    if (feature.type === 'first_seen' || feature.type === 'frequency') categoryFields.add(feature.field!)
  }
  const single = declaration.name
  // The windows of one field (a count's field is '') share the longest one's events: a shorter
  // window's are its newest. Only the longest is kept in the state.
  const longest = new Map<string, { key: string; windowMs: number; field: string }>()
  for (const [key, windowMs] of windowKeys) {
    const field = key.slice(0, key.lastIndexOf('@'))
    if ((longest.get(field)?.windowMs ?? -1) < windowMs) longest.set(field, { key, windowMs, field })
  }
  const windowList = [...longest.values()].map((window) => ({
    ...window,
    get: window.field === '' ? undefined : get(window.field),
  }))
  const plans: FeaturePlan[] = declaration.features.map((feature) => {
    const field = feature.field ?? ''
    const windowed = isWindowed(feature)
    return {
      feature,
      type: feature.type,
      get: feature.field === undefined ? undefined : get(feature.field),
      field,
      windowMs: windowed ? parseDuration(feature.window) : 0,
      window: windowed ? windowList.findIndex((window) => window.field === field) : -1,
      recentKey: feature.type === 'robust_zscore' ? recentKey(feature) : '',
    }
  })
  const welfordList = [...welfordFields].map((field) => ({ field, get: get(field) }))
  const recentList = [...recentKeys].map(([key, { keep, field }]) => ({ key, keep, get: get(field) }))
  const categoryList = [...categoryFields].map((field) => ({ field, get: get(field) }))

  const fieldChecks: FieldCheck[] = declaration.fields.map((field) => ({
    path: field.name,
    get: get(field.name),
    type: field.type,
    optional: field.optional === true,
  }))
  const eventTimeField = declaration.eventTime
  const eventTimeOf = eventTimeField === undefined ? undefined : get(eventTimeField)
  const labelOf = declaration.label === undefined ? undefined : get(declaration.label)
  const idOf = declaration.id === undefined ? undefined : get(declaration.id)
  const decode = (record: unknown, recordTimestamp?: number): DeclaredEvent => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new Error('not a JSON object')
    let time = Number.NaN
    let timeRead = false
    for (const field of fieldChecks) {
      const fieldTime = checkField(field.get(record), field)
      // the event-time field's time, read once
      if (field.path === eventTimeField && field.type === 'timestamp') {
        time = fieldTime
        timeRead = true
      }
    }
    if (labelOf !== undefined) {
      const label = labelOf(record)
      if (typeof label === 'number' && label !== 0 && label !== 1)
        throw new Error(`field ${declaration.label} is the label and must be 0 or 1, got ${JSON.stringify(label)}`)
    }
    if (eventTimeOf !== undefined) {
      if (!timeRead) time = timeValue(eventTimeOf(record))
    } else {
      if (recordTimestamp === undefined || !Number.isFinite(recordTimestamp))
        throw new Error('no event time: the schema declares no eventTime field and the record has no timestamp')
      time = recordTimestamp
    }
    return { kind: declaration.name, record: record as Record<string, unknown>, time }
  }

  const keyFields = declaration.entityKey
  const keyReaders =
    keyFields === undefined ? [] : typeof keyFields === 'string' ? [get(keyFields)] : keyFields.map(get)
  const recordKey = (record: Record<string, unknown>): string =>
    keyFields === undefined
      ? single
      : typeof keyFields === 'string'
        ? String(keyReaders[0]!(record))
        : keyReaders.map((read) => String(read(record))).join('/')

  const extractRecord = (
    record: Record<string, unknown>,
    t: number,
    saved: unknown,
  ): { features: Float64Array; nextState: SchemaState } => {
    const before = (saved as SchemaState | undefined)?.v === version ? (saved as SchemaState) : undefined
    const n = before?.n ?? 0
    // each kept window decoded once, for the features and for the next state
    const windows = new Array<WindowRun>(windowList.length)
    for (let i = 0; i < windowList.length; i++) {
      const window = windowList[i]!
      windows[i] = readWindow(before?.windows[window.key], before?.latest ?? 0, window.get !== undefined)
    }
    const f = allocateFeatures(featureNames.length)
    let column = 0
    for (const plan of plans) {
      switch (plan.type) {
        case 'number':
          f[column++] = asNumber(plan.get!(record))
          break
        case 'log1p':
          f[column++] = signedLog1p(asNumber(plan.get!(record)))
          break
        case 'mean': {
          const w = before?.welford[plan.field]
          f[column++] = w && w.n > 0 ? w.mean : asNumber(plan.get!(record))
          break
        }
        case 'zscore':
          f[column++] = welfordZScore(before?.welford[plan.field], asNumber(plan.get!(record)))
          break
        case 'ratio_to_mean': {
          const w = before?.welford[plan.field]
          f[column++] = ratioToAverage(asNumber(plan.get!(record)), w?.mean ?? 0, w?.n ?? 0)
          break
        }
        case 'robust_zscore':
          f[column++] = robustZ(before?.recent[plan.recentKey] ?? [], asNumber(plan.get!(record)))
          break
        case 'count':
        case 'sum': {
          if (plan.window < 0) {
            f[column++] = n + 1
            break
          }
          const run = windows[plan.window]!
          const { times, values } = run
          // times are in order: the window (t − W, t] is the run between two searches
          const from = after(times, t - plan.windowMs, run.from, run.to)
          const to = after(times, t, run.from, run.to)
          if (plan.type === 'count') f[column++] = 1 + to - from
          else {
            let total = asNumber(plan.get!(record))
            for (let i = from; i < to; i++) total += values![i]!
            f[column++] = total
          }
          break
        }
        case 'seconds_since_previous': {
          const gap = before === undefined ? maxGapSeconds : (t - before.latest) / 1000
          f[column++] = gap <= 0 ? 0 : Math.min(gap, maxGapSeconds)
          break
        }
        case 'first_seen': {
          const value = String(plan.get!(record))
          f[column++] = before?.counts[plan.field]?.[value] === undefined ? 1 : 0
          break
        }
        case 'frequency': {
          const value = String(plan.get!(record))
          f[column++] = n > 0 ? (before?.counts[plan.field]?.[value] ?? 0) / n : 0
          break
        }
        case 'hour_of_day':
        case 'day_of_week': {
          const time = plan.get === undefined ? t : timeValue(plan.get(record))
          const angle =
            plan.type === 'hour_of_day'
              ? angleOf((((time % dayMs) + dayMs) % dayMs) / hourMs, 24)
              : angleOf((((time / dayMs + 3) % 7) + 7) % 7, 7)
          f[column++] = Math.sin(angle)
          f[column++] = Math.cos(angle)
          break
        }
        case 'cycle': {
          const angle = angleOf(asNumber(plan.get!(record)), plan.feature.period!)
          f[column++] = Math.sin(angle)
          f[column++] = Math.cos(angle)
          break
        }
        case 'lookup': {
          const value = String(plan.get!(record))
          const table = plan.feature.table!
          f[column++] = Object.hasOwn(table, value) ? table[value]! : (plan.feature.default ?? 0)
          break
        }
        case 'one_hot': {
          const value = String(plan.get!(record))
          for (const option of plan.feature.values!) f[column++] = value === option ? 1 : 0
          break
        }
      }
    }

    // The entity's next state.
    const latest = before === undefined ? t : Math.max(before.latest, t)
    const welford: Record<string, WelfordState> = {}
    for (const { field, get } of welfordList)
      welford[field] = welfordUpdate(before?.welford[field], asNumber(get(record)))
    const recent: Record<string, number[]> = {}
    for (const { key, keep, get } of recentList) {
      // the newest `keep` values: the kept ones (the oldest dropped) and this one
      const old = before?.recent[key] ?? []
      const values = old.slice(old.length >= keep ? old.length - keep + 1 : 0)
      values.push(asNumber(get(record)))
      recent[key] = values
    }
    const nextWindows: Record<string, WindowRun> = {}
    for (let w = 0; w < windowList.length; w++) {
      const { key, windowMs, get } = windowList[w]!
      // a count's values are all 1 and not kept
      const value = get === undefined ? 0 : asNumber(get(record))
      nextWindows[key] = nextRun(windows[w]!, t, value, latest - windowMs, latest)
    }
    const counts: Record<string, Record<string, number>> = {}
    for (const { field, get } of categoryList) {
      const next = { ...(before?.counts[field] ?? {}) }
      const value = String(get(record))
      next[value] = (next[value] ?? 0) + 1
      const keys = Object.keys(next)
      if (keys.length > maxCategories) {
        let rarest = keys[0]!
        for (const key of keys) if (key !== value && (next[key]! < next[rarest]! || rarest === value)) rarest = key
        delete next[rarest]
      }
      counts[field] = next
    }
    return {
      features: f,
      nextState: { v: version, n: n + 1, latest, welford, recent, windows: nextWindows, counts },
    }
  }

  const recordLabel = (record: Record<string, unknown>): 0 | 1 | undefined => {
    if (declaration.label === undefined) return undefined
    const value = labelOf!(record)
    return value === true || value === 1 ? 1 : value === false || value === 0 ? 0 : undefined
  }

  return Object.freeze({
    declaration,
    name: declaration.name,
    featureNames: Object.freeze(featureNames),
    statisticColumns: Object.freeze(statisticColumns),
    fieldTypes,
    decode,
    time: (record: Record<string, unknown>) =>
      eventTimeOf === undefined ? Number.NaN : timeValue(eventTimeOf(record)),
    recordKey,
    recordId: (record: Record<string, unknown>, t: number) =>
      idOf === undefined ? `${recordKey(record)}@${t}` : String(idOf(record)),
    recordLabel,
    extractRecord,
    entityKey: (event: DeclaredEvent) => recordKey(event.record),
    id: (event: DeclaredEvent) =>
      idOf === undefined ? `${recordKey(event.record)}@${event.time}` : String(idOf(event.record)),
    label: (event: DeclaredEvent) => recordLabel(event.record),
    extract: (event: DeclaredEvent, saved: unknown) => extractRecord(event.record, event.time, saved),
  })
}

/** Sets `value` at a dotted column's path, creating objects (or arrays for numeric parts) on the way. */
export function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> = target
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i]!
    let child = node[part]
    if (child === undefined) {
      child = /^\d+$/.test(path[i + 1]!) ? [] : {}
      node[part] = child
    }
    if (child === null || typeof child !== 'object') throw new Error(`column ${path.join('.')} conflicts with ${part}`)
    node = child as Record<string, unknown>
  }
  node[path[path.length - 1]!] = value
}

/** Row order as time for a schema without an event-time field: one second apart from 2025-01-01. */
export const rowTimeOrigin = Date.UTC(2025, 0, 1)

function schemaCell(schema: CompiledSchema, column: string, cell: string): unknown {
  const type = schema.fieldTypes.get(column)
  if (type === 'number' || type === 'timestamp') {
    const value = Number(cell)
    return Number.isFinite(value) ? value : cell
  }
  if (type === 'boolean') {
    const lower = cell.toLowerCase()
    return lower === 'true' || lower === '1' ? true : lower === 'false' || lower === '0' ? false : cell
  }
  return cell
}

/**
 * One CSV row of a declared schema → its event, validated as enrich validates a record of the
 * schema's topic (cells converted by the declared field types; an empty cell leaves the field
 * out). `index` is the row's position, its time when the schema declares no event-time field.
 */
export function declaredFromCsv(
  schema: CompiledSchema,
  columns: readonly string[],
  fields: readonly string[],
  index: number,
): DeclaredEvent {
  if (fields.length !== columns.length) throw new Error(`expected ${columns.length} columns, got ${fields.length}`)
  const record: Record<string, unknown> = {}
  for (let i = 0; i < columns.length; i++) {
    if (fields[i] === '') continue
    setPath(record, columns[i]!.split('.'), schemaCell(schema, columns[i]!, fields[i]!))
  }
  return schema.decode(record, rowTimeOrigin + index * 1000)
}

/** One JSON Lines row of a declared schema → its event (see `declaredFromCsv`). */
export function declaredFromJson(schema: CompiledSchema, text: string, index: number): DeclaredEvent {
  let record: unknown
  try {
    record = JSON.parse(text)
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`)
  }
  return schema.decode(record, rowTimeOrigin + index * 1000)
}

export { zScoreLimit }

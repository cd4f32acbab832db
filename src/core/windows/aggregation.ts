// What an aggregation is: which events (an event kind, and an optional filter), grouped by which
// field, in which windows, computing which aggregates, emitted when. Its fields are those its
// kind's event schema declares (a built-in kind's template in schemas/, or a schema declared in
// the config file); the built-in aggregations are those of SPEC §6, over payments.

import { valueAt } from '../schemas/compile.ts'
import type { FieldType } from '../schemas/declaration.ts'
import type { WindowSpec } from './window.ts'

export const aggregateOps = ['count', 'sum', 'min', 'max', 'mean', 'distinct'] as const
export type AggregateOp = (typeof aggregateOps)[number]

export interface AggregateDefinition {
  readonly op: AggregateOp
  /** The field aggregated: a number field for sum, min, max and mean; any field for distinct; none for count. */
  readonly field?: string
  /** Its name in the output's `values`; default the op. */
  readonly as: string
}

export interface AggregationFilter {
  readonly field: string
  readonly op: '=' | '!='
  readonly value: string
}

export const emitModes = ['update', 'final'] as const
/** update: a result (final: false) for every window a batch changed, and the final one at close; final: only at close. */
export type EmitMode = (typeof emitModes)[number]

export interface AggregationDefinition {
  readonly name: string
  /** The event kind it reads: a built-in kind (payment, transaction, …) or a declared schema's name. */
  readonly kind: string
  /** The field whose value groups events (the output key is `<name>|<value>`). */
  readonly key: string
  readonly window: WindowSpec
  readonly aggregates: readonly AggregateDefinition[]
  readonly filter?: AggregationFilter
  readonly emit: EmitMode
  /** How long after the watermark passes a window's end the window still accepts events, ms. */
  readonly graceMs: number
}

/** The kind the aggregations declared without one read (the built-in ones read it too). */
export const defaultAggregationKind = 'payment'

/** The value of a (possibly nested: dotted) field of an event's record; null when absent. */
export function fieldValue(record: object, field: string): string | number | boolean | null {
  const value = valueAt(record, field)
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value
  return null
}

/** Whether `record` passes the aggregation's filter (values compare as text: `is_fraud = true`, `risk_level = 5`). */
export function passesFilter(record: object, filter: AggregationFilter | undefined): boolean {
  if (!filter) return true
  const value = fieldValue(record, filter.field)
  const equal = value !== null && String(value) === filter.value
  return filter.op === '=' ? equal : !equal
}

/** A problem of an aggregation's fields: its path inside the aggregation, and what is wrong and allowed. */
export interface FieldProblem {
  readonly path: readonly (string | number)[]
  readonly message: string
}

/**
 * What is wrong with the fields an aggregation names (key, filter, aggregated fields), given
 * the fields its kind declares: each must be declared, and sum, min, max and mean need a number.
 */
export function aggregationFieldProblems(
  aggregation: Pick<AggregationDefinition, 'kind' | 'key' | 'aggregates' | 'filter'>,
  fields: ReadonlyMap<string, FieldType>,
): FieldProblem[] {
  const names = [...fields.keys()].join(', ')
  const numbers = [...fields].filter(([, type]) => type === 'number').map(([name]) => name)
  const kind = aggregation.kind
  const problems: FieldProblem[] = []
  if (!fields.has(aggregation.key))
    problems.push({ path: ['key'], message: `must be a ${kind} field: one of ${names}` })
  if (aggregation.filter && !fields.has(aggregation.filter.field))
    problems.push({ path: ['filter'], message: `${aggregation.filter.field} is not a ${kind} field: one of ${names}` })
  aggregation.aggregates.forEach((aggregate, index) => {
    if (aggregate.field === undefined) return
    const path = ['aggregates', index, 'field']
    const type = fields.get(aggregate.field)
    if (type === undefined) problems.push({ path, message: `must be a ${kind} field: one of ${names}` })
    else if (aggregate.op !== 'distinct' && type !== 'number')
      problems.push({
        path,
        message: `${aggregate.op} needs a number field of ${kind}: ${numbers.length ? `one of ${numbers.join(', ')}` : 'it declares none'}`,
      })
  })
  return problems
}

/** The fields an aggregation reads from an event besides its key. */
export function aggregatedFields(definition: AggregationDefinition): string[] {
  const fields = new Set<string>()
  for (const aggregate of definition.aggregates) if (aggregate.field !== undefined) fields.add(aggregate.field)
  return [...fields]
}

const minuteMs = 60_000

/** SPEC §6's aggregations, built in; the customer window is the rapid_fire rule's (see velocityWindow). */
export function builtInAggregations(options: { velocity: WindowSpec; graceMs: number }): AggregationDefinition[] {
  return [
    {
      name: 'merchant-payments',
      kind: defaultAggregationKind,
      key: 'merchant_id',
      window: { sizeMs: 5 * minuteMs, slideMs: 5 * minuteMs },
      aggregates: [
        { op: 'count', as: 'count' },
        { op: 'sum', field: 'amount', as: 'sum' },
      ],
      emit: 'update',
      graceMs: options.graceMs,
    },
    {
      name: 'category-revenue',
      kind: defaultAggregationKind,
      key: 'merchant_category',
      window: { sizeMs: 5 * minuteMs, slideMs: minuteMs },
      aggregates: [
        { op: 'count', as: 'count' },
        { op: 'sum', field: 'amount', as: 'sum' },
        { op: 'mean', field: 'amount', as: 'mean' },
      ],
      filter: { field: 'status', op: '=', value: 'approved' },
      emit: 'update',
      graceMs: options.graceMs,
    },
    {
      name: 'customer-velocity',
      kind: defaultAggregationKind,
      key: 'customer_id',
      window: options.velocity,
      aggregates: [{ op: 'count', as: 'count' }],
      emit: 'final',
      graceMs: options.graceMs,
    },
  ]
}

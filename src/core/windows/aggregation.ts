// What an aggregation is: which events (an optional filter), grouped by which field, in which
// windows, computing which aggregates, emitted when. Declared over the payment fields (user-
// defined event schemas have not landed); the built-in ones are those of SPEC §6.

import type { Payment } from '../events.ts'
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
  /** The field whose value groups events (the output key is `<name>|<value>`). */
  readonly key: string
  readonly window: WindowSpec
  readonly aggregates: readonly AggregateDefinition[]
  readonly filter?: AggregationFilter
  readonly emit: EmitMode
  /** How long after the watermark passes a window's end the window still accepts events, ms. */
  readonly graceMs: number
}

type FieldType = 'string' | 'number' | 'boolean'

/** The payment fields an aggregation can group by, filter on and aggregate (dotted = nested). */
export const paymentFields = {
  transaction_id: 'string',
  customer_id: 'string',
  merchant_id: 'string',
  merchant_category: 'string',
  payment_method: 'string',
  status: 'string',
  failure_reason: 'string',
  commission_type: 'string',
  customer_type: 'string',
  'device_info.os': 'string',
  'device_info.app_version': 'string',
  amount: 'number',
  commission_amount: 'number',
  vat_amount: 'number',
  total_amount: 'number',
  risk_level: 'number',
  'location.lat': 'number',
  'location.lng': 'number',
  is_fraud: 'boolean',
} as const satisfies Record<string, FieldType>

export type PaymentField = keyof typeof paymentFields

export function isPaymentField(name: string): name is PaymentField {
  return Object.hasOwn(paymentFields, name)
}

/** The value of a (possibly nested) payment field; null when absent. */
export function fieldValue(payment: Payment, field: string): string | number | boolean | null {
  const dot = field.indexOf('.')
  const value =
    dot < 0
      ? (payment as unknown as Record<string, unknown>)[field]
      : ((payment as unknown as Record<string, Record<string, unknown> | undefined>)[field.slice(0, dot)]?.[
          field.slice(dot + 1)
        ] ?? null)
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value
  return null
}

/** Whether `payment` passes the aggregation's filter (values compare as text: `is_fraud = true`, `risk_level = 5`). */
export function passesFilter(payment: Payment, filter: AggregationFilter | undefined): boolean {
  if (!filter) return true
  const value = fieldValue(payment, filter.field)
  const equal = value !== null && String(value) === filter.value
  return filter.op === '=' ? equal : !equal
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
      key: 'customer_id',
      window: options.velocity,
      aggregates: [{ op: 'count', as: 'count' }],
      emit: 'final',
      graceMs: options.graceMs,
    },
  ]
}

// The schema of aggregations declared in the config file (`aggregate.aggregations`): each one
// names a payment field to group by, its window, its aggregates and an optional filter. Errors
// name the path inside the setting, e.g. aggregate.aggregations[0].aggregates[1].field.

import { z } from 'zod'
import {
  type AggregateDefinition,
  type AggregationDefinition,
  type AggregationFilter,
  aggregateOps,
  emitModes,
  isPaymentField,
  paymentFields,
} from '../core/windows/aggregation.ts'
import { windowSpecProblem } from '../core/windows/window.ts'

/** An aggregation as declared; its grace defaults to aggregate.graceMs. */
export type DeclaredAggregation = Omit<AggregationDefinition, 'graceMs'> & { readonly graceMs?: number }

const fieldNames = Object.keys(paymentFields).join(', ')
const numberFields = Object.entries(paymentFields)
  .filter(([, type]) => type === 'number')
  .map(([name]) => name)

const field = z.string().refine(isPaymentField, { message: `must be a payment field: one of ${fieldNames}` })

const aggregate = z
  .union([
    z.string().transform((text, context): { op: string; field?: string; as?: string } => {
      const [op, name, ...rest] = text.split(':')
      if (rest.length > 0 || op === undefined) {
        context.addIssue({ code: 'custom', message: `"${text}" is not "op" or "op:field"` })
        return z.NEVER
      }
      return name === undefined ? { op } : { op, field: name }
    }),
    z.strictObject({ op: z.string(), field: z.string().optional(), as: z.string().min(1).optional() }),
  ])
  .transform((value, context): AggregateDefinition => {
    const op = value.op as AggregateDefinition['op']
    if (!(aggregateOps as readonly string[]).includes(op)) {
      context.addIssue({ code: 'custom', path: ['op'], message: `must be one of ${aggregateOps.join(', ')}` })
      return z.NEVER
    }
    if (op === 'count') {
      if (value.field !== undefined)
        context.addIssue({ code: 'custom', path: ['field'], message: 'count takes no field' })
      return { op, as: value.as ?? op }
    }
    if (value.field === undefined) {
      context.addIssue({ code: 'custom', path: ['field'], message: `${op} needs a field` })
      return z.NEVER
    }
    if (!isPaymentField(value.field)) {
      context.addIssue({ code: 'custom', path: ['field'], message: `must be a payment field: one of ${fieldNames}` })
      return z.NEVER
    }
    if (op !== 'distinct' && paymentFields[value.field] !== 'number') {
      context.addIssue({
        code: 'custom',
        path: ['field'],
        message: `${op} needs a number field: one of ${numberFields.join(', ')}`,
      })
      return z.NEVER
    }
    return { op, field: value.field, as: value.as ?? op }
  })

const filter = z.string().transform((text, context): AggregationFilter => {
  const match = /^\s*([\w.]+)\s*(!=|=)\s*(\S(?:.*\S)?)\s*$/.exec(text)
  if (!match) {
    context.addIssue({ code: 'custom', message: `"${text}" is not "field = value" or "field != value"` })
    return z.NEVER
  }
  if (!isPaymentField(match[1]!)) {
    context.addIssue({ code: 'custom', message: `${match[1]} is not a payment field: one of ${fieldNames}` })
    return z.NEVER
  }
  return { field: match[1]!, op: match[2] as '=' | '!=', value: match[3]! }
})

const aggregation = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lower-case letters, digits, - and _ (it starts the output key)'),
    key: field,
    sizeMs: z
      .number()
      .int()
      .min(1)
      .max(366 * 86_400_000),
    slideMs: z.number().int().min(1).optional(),
    aggregates: z.array(aggregate).min(1, 'needs at least one aggregate'),
    filter: filter.optional(),
    emit: z.enum(emitModes).default('final'),
    graceMs: z.number().int().min(0).max(86_400_000).optional(),
  })
  .transform((value, context): DeclaredAggregation => {
    const window = { sizeMs: value.sizeMs, slideMs: value.slideMs ?? value.sizeMs }
    const problem = windowSpecProblem(window)
    if (problem) context.addIssue({ code: 'custom', path: ['slideMs'], message: problem })
    const names = new Set<string>()
    value.aggregates.forEach((entry, index) => {
      if (names.has(entry.as))
        context.addIssue({
          code: 'custom',
          path: ['aggregates', index],
          message: `a second "${entry.as}": name one of them with "as"`,
        })
      names.add(entry.as)
    })
    return {
      name: value.name,
      key: value.key,
      window,
      aggregates: value.aggregates,
      emit: value.emit,
      ...(value.filter ? { filter: value.filter } : {}),
      ...(value.graceMs === undefined ? {} : { graceMs: value.graceMs }),
    }
  })

const aggregations = z.array(aggregation).superRefine((list, context) => {
  const seen = new Set<string>()
  list.forEach((entry, index) => {
    if (seen.has(entry.name))
      context.addIssue({ code: 'custom', path: [index, 'name'], message: `"${entry.name}" is declared twice` })
    seen.add(entry.name)
  })
})

/** `[0].aggregates[1].field` */
function pathText(path: readonly PropertyKey[]): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('')
}

/**
 * The setting's schema: a JSON array (or its text, from the environment or a flag) of
 * aggregations; each problem is reported with its path inside the setting.
 */
export function aggregationsSetting(settingKey: string): z.ZodType<DeclaredAggregation[]> {
  return z.unknown().transform((value, context): DeclaredAggregation[] => {
    let parsed = value
    if (typeof value === 'string') {
      try {
        parsed = JSON.parse(value)
      } catch (error) {
        context.addIssue({ code: 'custom', message: `not JSON: ${(error as Error).message}` })
        return z.NEVER
      }
    }
    const result = aggregations.safeParse(parsed)
    if (result.success) return result.data
    for (const issue of result.error.issues)
      context.addIssue({ code: 'custom', message: `${settingKey}${pathText(issue.path)}: ${issue.message}` })
    return z.NEVER
  }) as unknown as z.ZodType<DeclaredAggregation[]>
}

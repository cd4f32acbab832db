// The schema of aggregations declared in the config file (`aggregate.aggregations`): each one
// names the event kind it reads (payments by default), a field to group by, its window, its
// aggregates and an optional filter. Errors name the path inside the setting, e.g.
// aggregate.aggregations[0].aggregates[1].field. The fields are checked against the kind's
// event schema once the whole configuration is read (a kind may be a schema declared under
// `schemas`): see `aggregationFieldErrors`.

import { z } from 'zod'
import { builtInKinds, kindOf } from '../core/kinds.ts'
import type { EventSchemaDeclaration } from '../core/schemas/declaration.ts'
import {
  type AggregateDefinition,
  type AggregationDefinition,
  type AggregationFilter,
  aggregateOps,
  aggregationFieldProblems,
  defaultAggregationKind,
  emitModes,
} from '../core/windows/aggregation.ts'
import { windowSpecProblem } from '../core/windows/window.ts'

/** An aggregation as declared; its grace defaults to aggregate.graceMs. */
export type DeclaredAggregation = Omit<AggregationDefinition, 'graceMs'> & { readonly graceMs?: number }

const field = z.string().min(1)

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
    return { op, field: value.field, as: value.as ?? op }
  })

const filter = z.string().transform((text, context): AggregationFilter => {
  const match = /^\s*([\w.]+)\s*(!=|=)\s*(\S(?:.*\S)?)\s*$/.exec(text)
  if (!match) {
    context.addIssue({ code: 'custom', message: `"${text}" is not "field = value" or "field != value"` })
    return z.NEVER
  }
  return { field: match[1]!, op: match[2] as '=' | '!=', value: match[3]! }
})

const aggregation = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lower-case letters, digits, - and _ (it starts the output key)'),
    kind: z.string().min(1).default(defaultAggregationKind),
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
      kind: value.kind,
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

/**
 * Each declared aggregation checked against the event schema of its kind (a built-in kind, or a
 * schema declared under `schemas`): the kind exists, and its key, filter and aggregated fields
 * are fields the schema declares, numbers where the aggregate needs one. One message per
 * problem, naming its path inside the setting and what is allowed.
 */
export function aggregationFieldErrors(
  aggregations: readonly DeclaredAggregation[],
  schemas: readonly EventSchemaDeclaration[],
  settingKey = 'aggregate.aggregations',
): string[] {
  const errors: string[] = []
  aggregations.forEach((aggregation, index) => {
    const declared = schemas.find((schema) => schema.name === aggregation.kind)
    const fields = declared
      ? new Map(declared.fields.map((f) => [f.name, f.type]))
      : (builtInKinds as readonly string[]).includes(aggregation.kind)
        ? kindOf(aggregation.kind as (typeof builtInKinds)[number]).schema.fieldTypes
        : undefined
    if (fields === undefined) {
      const kinds = [...builtInKinds, ...schemas.map((schema) => schema.name)].join(', ')
      errors.push(
        `${settingKey}[${index}].kind: ${JSON.stringify(aggregation.kind)} is neither an event kind nor a schema declared under schemas: one of ${kinds}`,
      )
      return
    }
    if (declared && declared.topic === undefined)
      errors.push(
        `${settingKey}[${index}].kind: schema ${declared.name} declares no topic; an aggregation reads a declared schema's events from its topic: give the schema a topic`,
      )
    for (const problem of aggregationFieldProblems(aggregation, fields))
      errors.push(`${settingKey}${pathText([index, ...problem.path])}: ${problem.message}`)
  })
  return errors
}

// A feature schema with a name → position map, so extractors write `features[at.amount]`
// instead of counting positions by hand.

import type { FeatureSchema } from './extractor.ts'

export interface IndexedSchema<N extends string> extends FeatureSchema {
  readonly names: readonly N[]
  /** Position of each name in the vector. */
  readonly at: { readonly [K in N]: number }
}

export function defineSchema<const N extends string>(names: readonly N[]): IndexedSchema<N> {
  if (new Set(names).size !== names.length) throw new Error(`duplicate feature names in ${names.join(', ')}`)
  const at = {} as { [K in N]: number }
  names.forEach((name, i) => {
    at[name] = i
  })
  return Object.freeze({ names: Object.freeze([...names]), at: Object.freeze(at) })
}

// Validation shared by the drift detectors: options checked once at construction, and the
// JSON read back by `fromJSON`, which may come from a model registry written by another
// version. Non-finite numbers do not survive JSON, so they are stored as null.
import { ErrorCodes, LookoutError } from '../../errors.ts'

export function invalidOption(detector: string, option: string, value: unknown, allowed: string): LookoutError {
  return new LookoutError(
    ErrorCodes.CONFIG_INVALID,
    `${detector} option ${option} is ${JSON.stringify(value)}; it must be ${allowed}`,
    { hint: `set ${option} to ${allowed}, or leave it out to use the default` },
  )
}

export function checkInteger(detector: string, option: string, value: number, minimum: number): number {
  if (!Number.isInteger(value) || value < minimum)
    throw invalidOption(detector, option, value, `an integer ≥ ${minimum}`)
  return value
}

export function checkFinite(detector: string, option: string, value: number, minimum: number, open = false): number {
  if (!Number.isFinite(value) || value < minimum || (open && value === minimum))
    throw invalidOption(detector, option, value, `a number ${open ? '>' : '≥'} ${minimum}`)
  return value
}

function invalidState(type: string, field: string, value: unknown, expected: string): LookoutError {
  return new LookoutError(
    ErrorCodes.INPUT_INVALID,
    `saved ${type} drift detector has ${field} = ${JSON.stringify(value)}; expected ${expected}`,
    { hint: 'the saved state is corrupt or from an incompatible version; start the detector afresh' },
  )
}

/** A view over saved detector JSON that checks each field as it is read. */
export class SavedState {
  readonly type: string
  readonly #fields: Readonly<Record<string, unknown>>

  constructor(json: unknown, type: string) {
    this.type = type
    if (typeof json !== 'object' || json === null) throw invalidState(type, 'the state', json, 'an object')
    const fields = json as Readonly<Record<string, unknown>>
    if (fields['type'] !== type) throw invalidState(type, 'type', fields['type'], JSON.stringify(type))
    this.#fields = fields
  }

  /** A nested object, for example `options`. */
  object(field: string): SavedState {
    const value = this.#fields[field]
    if (typeof value !== 'object' || value === null) throw invalidState(this.type, field, value, 'an object')
    return new SavedState({ ...(value as object), type: this.type }, this.type)
  }

  number(field: string): number {
    const value = this.#fields[field]
    if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidState(this.type, field, value, 'a number')
    return value
  }

  /** A number saved with `storeNumber`: null stands for ±Infinity or NaN as given. */
  numberOr(field: string, whenNull: number): number {
    return this.#fields[field] === null ? whenNull : this.number(field)
  }

  /** A number added to the state after states were saved: `whenAbsent` for a state saved before it. */
  numberAddedLater(field: string, whenAbsent: number): number {
    return this.#fields[field] === undefined ? whenAbsent : this.number(field)
  }

  boolean(field: string): boolean {
    const value = this.#fields[field]
    if (typeof value !== 'boolean') throw invalidState(this.type, field, value, 'true or false')
    return value
  }

  string(field: string): string {
    const value = this.#fields[field]
    if (typeof value !== 'string') throw invalidState(this.type, field, value, 'a string')
    return value
  }

  /** An array of arrays of numbers. */
  numberRows(field: string): number[][] {
    const value = this.#fields[field]
    const isRow = (row: unknown) =>
      Array.isArray(row) && row.every((item) => typeof item === 'number' && Number.isFinite(item))
    if (!Array.isArray(value) || !value.every(isRow))
      throw invalidState(this.type, field, value, 'an array of arrays of numbers')
    return value as number[][]
  }

  fail(field: string, value: unknown, expected: string): LookoutError {
    return invalidState(this.type, field, value, expected)
  }
}

/** JSON has no Infinity or NaN; they are saved as null and restored by `SavedState.numberOr`. */
export function storeNumber(value: number): number | null {
  return Number.isFinite(value) ? value : null
}

export function nonFiniteInput(detector: string, value: number): LookoutError {
  return new LookoutError(
    ErrorCodes.INPUT_INVALID,
    `${detector} received ${value}; drift detectors need finite numbers`,
    {
      hint: 'drop or impute missing values before they reach the drift detector',
    },
  )
}

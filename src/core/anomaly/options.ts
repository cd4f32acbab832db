// Checks of detector options, shared by the detectors: one message format naming the
// detector, the option, the value and what is allowed.
import { ErrorCodes, LookoutError } from '../../errors.ts'

export function optionError(detector: string, setting: string, value: unknown, allowed: string): LookoutError {
  return new LookoutError(
    ErrorCodes.CONFIG_INVALID,
    `${detector}: ${setting} = ${JSON.stringify(value)} is not allowed; expected ${allowed}`,
  )
}

export function positiveIntegerOption(detector: string, setting: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw optionError(detector, setting, value, `an integer in 1..${max}`)
  return value
}

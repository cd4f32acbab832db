// A bounded set of the values an entity has used (devices, location cells), most recently
// used last. When full, the least recently used value is forgotten, so a device not seen for
// `capacity` other devices counts as new again. Plain JSON: an array of strings.

export type FirstSeenState = readonly string[]

export const defaultFirstSeenCapacity = 8

export interface FirstSeenObservation {
  /** True when `value` was not among the remembered values. */
  firstSeen: boolean
  next: FirstSeenState
}

/** Records `value` as just used and says whether it was new. The input state is not changed. */
export function firstSeenObserve(
  state: FirstSeenState | undefined,
  value: string,
  capacity: number = defaultFirstSeenCapacity,
): FirstSeenObservation {
  const known = state ?? []
  const at = known.indexOf(value)
  if (at === known.length - 1 && at >= 0) return { firstSeen: false, next: known }
  const next: string[] = []
  const keepFrom = at < 0 && known.length >= capacity ? known.length - capacity + 1 : 0
  for (let i = keepFrom; i < known.length; i++) if (i !== at) next.push(known[i]!)
  next.push(value)
  return { firstSeen: at < 0, next }
}

export function firstSeenHas(state: FirstSeenState | undefined, value: string): boolean {
  return state?.includes(value) ?? false
}

/**
 * The grid cell of a location, as a short string: latitude and longitude rounded down to
 * `cellDegrees` (default 0.1°, about 11 km north–south). Two payments in the same town share
 * a cell; a payment from another city does not.
 */
export function locationCell(lat: number, lng: number, cellDegrees = 0.1): string {
  return `${Math.floor(lat / cellDegrees)}:${Math.floor(lng / cellDegrees)}`
}

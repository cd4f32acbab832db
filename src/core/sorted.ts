// Ascending Float64Arrays kept sorted in place: the first n values are the sorted ones.

/** First index in values[0, n) whose value is ≥ x. */
export function lowerBound(values: Float64Array, n: number, x: number): number {
  let low = 0
  let high = n
  while (low < high) {
    const middle = (low + high) >>> 1
    if (values[middle]! < x) low = middle + 1
    else high = middle
  }
  return low
}

/** Inserts x into the sorted values[0, n) (values must have room for n + 1). */
export function insertSorted(values: Float64Array, n: number, x: number): void {
  const position = lowerBound(values, n, x)
  values.copyWithin(position + 1, position, n)
  values[position] = x
}

/** Replaces one value equal to `old` (which must be present) of the sorted values[0, n) by x. */
export function replaceSorted(values: Float64Array, n: number, old: number, x: number): void {
  const from = lowerBound(values, n, old)
  const to = lowerBound(values, n, x)
  if (to > from) {
    values.copyWithin(from, from + 1, to)
    values[to - 1] = x
  } else {
    values.copyWithin(to + 1, to, from)
    values[to] = x
  }
}

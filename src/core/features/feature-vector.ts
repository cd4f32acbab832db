// Feature vectors are carved out of shared slabs: `new Float64Array(17)` costs about 0.5 µs in
// Node 24 (each one gets its own ArrayBuffer), a view on a slab about 0.04 µs, and the
// extractors make one vector per event. A vector's values are its own; its `.buffer` is the
// slab, so never transfer or reuse `.buffer` (copy with `slice()` to get a standalone array).

const slabBytes = 64 * 1024

let slab = new ArrayBuffer(slabBytes)
let offset = 0

/** A zero-filled vector of `length` numbers. */
export function allocateFeatures(length: number): Float64Array {
  const bytes = length * Float64Array.BYTES_PER_ELEMENT
  if (bytes > slabBytes) return new Float64Array(length)
  if (offset + bytes > slabBytes) {
    slab = new ArrayBuffer(slabBytes)
    offset = 0
  }
  const vector = new Float64Array(slab, offset, length)
  offset += bytes
  return vector
}

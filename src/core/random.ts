// Seeded pseudo-random numbers for everything that must be reproducible: generators,
// detectors, sampling. sfc32 (Small Fast Counting) has a 128-bit state, passes PractRand,
// and its state is four integers, so it serialises trivially.

export interface RandomState {
  readonly a: number
  readonly b: number
  readonly c: number
  readonly d: number
}

export class Random {
  #a: number
  #b: number
  #c: number
  #d: number
  /** Second normal deviate of the last Box–Muller pair, or NaN. */
  #spareNormal = Number.NaN

  constructor(seed: number | RandomState) {
    if (typeof seed === 'number') {
      // splitmix32 expands one seed into four well-mixed words
      let s = seed >>> 0
      const next = () => {
        s = (s + 0x9e3779b9) | 0
        let z = s
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
        return (z ^ (z >>> 16)) >>> 0
      }
      this.#a = next()
      this.#b = next()
      this.#c = next()
      this.#d = next()
      for (let i = 0; i < 12; i++) this.uint32()
    } else {
      this.#a = seed.a >>> 0
      this.#b = seed.b >>> 0
      this.#c = seed.c >>> 0
      this.#d = seed.d >>> 0
    }
  }

  /** A fresh independent stream derived from this one (for per-tree or per-entity randomness). */
  fork(): Random {
    return new Random(this.uint32() ^ Math.imul(this.uint32(), 0x9e3779b1))
  }

  /** The four words as unsigned integers, so a state reads the same before and after a restore. */
  state(): RandomState {
    return { a: this.#a >>> 0, b: this.#b >>> 0, c: this.#c >>> 0, d: this.#d >>> 0 }
  }

  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next()
  }

  /** Uniform integer in [min, max], both inclusive. */
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  bernoulli(probability: number): boolean {
    return this.next() < probability
  }

  /** Normal deviate (Box–Muller, both values used). */
  normal(mean = 0, std = 1): number {
    if (!Number.isNaN(this.#spareNormal)) {
      const spare = this.#spareNormal
      this.#spareNormal = Number.NaN
      return mean + std * spare
    }
    let u = 0
    while (u === 0) u = this.next()
    const v = this.next()
    const radius = Math.sqrt(-2 * Math.log(u))
    this.#spareNormal = radius * Math.sin(2 * Math.PI * v)
    return mean + std * radius * Math.cos(2 * Math.PI * v)
  }

  /** Exponential deviate with the given rate (mean 1/rate). */
  exponential(rate: number): number {
    let u = 0
    while (u === 0) u = this.next()
    return -Math.log(u) / rate
  }

  /** Index drawn with probability proportional to `weights[i]`. */
  weightedIndex(weights: readonly number[]): number {
    let total = 0
    for (const weight of weights) total += weight
    let target = this.next() * total
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i]!
      if (target < 0) return i
    }
    return weights.length - 1
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!
  }
}

export interface StateStoreOptions {
  /**
   * Keep committed values as their JSON text (what the changelog holds) instead of as objects:
   * several times less memory per key for a store of many small values (an entity's state), at
   * one JSON.parse per read of a committed value not in the object cache (`cachedObjects`).
   * Values read back are the values written, or their JSON round trips (after a restore from the
   * changelog, or once out of the cache): they must be plain JSON data, or objects whose
   * `toJSON` gives it, which the processor reads the same either way (enrich's window runs).
   */
  serialized?: boolean
  /**
   * With `serialized`: how many recently written values are also kept as the objects they were
   * written as, so that reading them back needs no JSON.parse (an entity seen again soon, the
   * common case). Default 4,096 per store (a partition).
   */
  cachedObjects?: number
}

/**
 * A per-partition key → state store. Writes made while a batch is processed stay pending
 * until the batch's transaction commits (then they become the store's contents and are
 * already in the changelog) or aborts (then they are dropped). Values are plain JSON data (or
 * objects whose `toJSON` gives it) and must be treated as immutable by processors.
 */
export class StateStore {
  readonly serialized: boolean
  /** Committed values: objects, or JSON text when `serialized`. */
  readonly #committed = new Map<string, unknown>()
  readonly #pending = new Map<string, unknown>()
  /** JSON text of pending values already serialized for the changelog (`pendingRecords`). */
  readonly #pendingText = new Map<string, string>()
  /** With `serialized`: committed values of recently written keys as objects, oldest first. */
  readonly #cached = new Map<string, unknown>()
  readonly #cachedObjects: number

  constructor(options: StateStoreOptions = {}) {
    this.serialized = options.serialized ?? false
    this.#cachedObjects = this.serialized ? (options.cachedObjects ?? 4_096) : 0
  }

  get<T>(key: string): T | undefined {
    if (this.#pending.has(key)) return this.#pending.get(key) as T | undefined
    if (!this.serialized) return this.#committed.get(key) as T | undefined
    const cached = this.#cached.get(key)
    if (cached !== undefined) return cached as T
    const text = this.#committed.get(key)
    return text === undefined ? undefined : (JSON.parse(text as string) as T)
  }

  put(key: string, value: unknown): void {
    this.#pending.set(key, value)
    this.#pendingText.delete(key)
  }

  delete(key: string): void {
    this.put(key, undefined)
  }

  get size(): number {
    return this.#committed.size
  }

  /** Pending writes (`undefined` = deleted). */
  pendingChanges(): IterableIterator<[string, unknown]> {
    return this.#pending.entries()
  }

  /** Pending writes as changelog records: the key and the value's JSON (`undefined` = tombstone). */
  *pendingRecords(): Generator<[string, string | undefined]> {
    for (const [key, value] of this.#pending) {
      if (value === undefined) {
        yield [key, undefined]
        continue
      }
      let text = this.#pendingText.get(key)
      if (text === undefined) {
        text = JSON.stringify(value)
        if (this.serialized) this.#pendingText.set(key, text)
      }
      yield [key, text]
    }
  }

  commitPending(): void {
    for (const [key, value] of this.#pending) {
      if (value === undefined) this.#committed.delete(key)
      else this.#committed.set(key, this.serialized ? (this.#pendingText.get(key) ?? JSON.stringify(value)) : value)
      if (this.#cachedObjects > 0) this.#cache(key, value)
    }
    this.discardPending()
  }

  /** Keeps `value` (undefined: nothing) as the cached object of `key`, the newest. */
  #cache(key: string, value: unknown): void {
    this.#cached.delete(key)
    if (value === undefined) return
    this.#cached.set(key, value)
    if (this.#cached.size > this.#cachedObjects) this.#cached.delete(this.#cached.keys().next().value!)
  }

  discardPending(): void {
    this.#pending.clear()
    this.#pendingText.clear()
  }

  /** Applies one changelog record during restoration. */
  restore(key: string, value: unknown): void {
    this.#cached.delete(key)
    if (value === undefined || value === null) this.#committed.delete(key)
    else this.#committed.set(key, this.serialized ? JSON.stringify(value) : value)
  }

  /** Applies one changelog record, as its value's JSON text (`undefined` = tombstone), during restoration. */
  restoreText(key: string, text: string | undefined): void {
    this.#cached.delete(key)
    if (text === undefined) this.#committed.delete(key)
    else if (this.serialized) this.#committed.set(key, text)
    else this.restore(key, JSON.parse(text))
  }

  /** A new store of the same kind with this one's committed contents (and its pending writes if asked). */
  copy(withPending: boolean): StateStore {
    const copy = new StateStore({ serialized: this.serialized, cachedObjects: this.#cachedObjects })
    for (const [key, value] of this.#committed) copy.#committed.set(key, value)
    for (const [key, value] of this.#cached) copy.#cached.set(key, value)
    if (withPending) for (const [key, value] of this.#pending) copy.put(key, value)
    return copy
  }

  entries(): IterableIterator<[string, unknown]> {
    if (!this.serialized) return this.#committed.entries()
    return (function* (committed) {
      for (const [key, text] of committed) yield [key, JSON.parse(text as string)] as [string, unknown]
    })(this.#committed)
  }
}

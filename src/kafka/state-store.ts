/**
 * A per-partition key → state store. Writes made while a batch is processed stay pending
 * until the batch's transaction commits (then they become the store's contents and are
 * already in the changelog) or aborts (then they are dropped). Values are plain JSON data
 * and must be treated as immutable by processors.
 */
export class StateStore {
  readonly #committed = new Map<string, unknown>()
  readonly #pending = new Map<string, unknown>()

  get<T>(key: string): T | undefined {
    if (this.#pending.has(key)) return this.#pending.get(key) as T | undefined
    return this.#committed.get(key) as T | undefined
  }

  put(key: string, value: unknown): void {
    this.#pending.set(key, value)
  }

  delete(key: string): void {
    this.#pending.set(key, undefined)
  }

  get size(): number {
    return this.#committed.size
  }

  /** Pending writes as changelog records (`undefined` = tombstone). */
  pendingChanges(): IterableIterator<[string, unknown]> {
    return this.#pending.entries()
  }

  commitPending(): void {
    for (const [key, value] of this.#pending) {
      if (value === undefined) this.#committed.delete(key)
      else this.#committed.set(key, value)
    }
    this.#pending.clear()
  }

  discardPending(): void {
    this.#pending.clear()
  }

  /** Applies one changelog record during restoration. */
  restore(key: string, value: unknown): void {
    if (value === undefined || value === null) this.#committed.delete(key)
    else this.#committed.set(key, value)
  }

  entries(): IterableIterator<[string, unknown]> {
    return this.#committed.entries()
  }
}

/** A rejected input row: its 1-based line number in the source text and why it was rejected. */
export interface RowError {
  row: number
  reason: string
}

// One catalogue of user-facing errors: every error has a stable code, says what went wrong
// and what to do next, and keeps its cause.

export const ErrorCodes = {
  CONFIG_INVALID: 'LOOKOUT_CONFIG_INVALID',
  CONFIG_FILE: 'LOOKOUT_CONFIG_FILE',
  JAVA_MISSING: 'LOOKOUT_JAVA_MISSING',
  JAVA_TOO_OLD: 'LOOKOUT_JAVA_TOO_OLD',
  MAVEN_MISSING: 'LOOKOUT_MAVEN_MISSING',
  BROKER_DOWNLOAD_FAILED: 'LOOKOUT_BROKER_DOWNLOAD_FAILED',
  BROKER_PORT_IN_USE: 'LOOKOUT_BROKER_PORT_IN_USE',
  PORT_IN_USE: 'LOOKOUT_PORT_IN_USE',
  BROKER_EXITED: 'LOOKOUT_BROKER_EXITED',
  BROKER_START_TIMEOUT: 'LOOKOUT_BROKER_START_TIMEOUT',
  BROKER_NOT_RUNNING: 'LOOKOUT_BROKER_NOT_RUNNING',
  KAFKA_UNREACHABLE: 'LOOKOUT_KAFKA_UNREACHABLE',
  TOPIC_MISSING: 'LOOKOUT_TOPIC_MISSING',
  TRANSACTION_PENDING: 'LOOKOUT_TRANSACTION_PENDING',
  INPUT_INVALID: 'LOOKOUT_INPUT_INVALID',
  FILE_UNREADABLE: 'LOOKOUT_FILE_UNREADABLE',
  S3_ACCESS: 'LOOKOUT_S3_ACCESS',
  MODEL_MISSING: 'LOOKOUT_MODEL_MISSING',
  USAGE: 'LOOKOUT_USAGE',
  DATABASE_UNREACHABLE: 'LOOKOUT_DATABASE_UNREACHABLE',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export class LookoutError extends Error {
  readonly code: ErrorCode
  /** What the user should do next; printed under the message. */
  readonly hint: string | undefined
  /**
   * Whether trying the same operation again later may succeed (a broker that is down or
   * moving, not bad input or a bug). The processor runtime retries such failures with
   * backoff instead of dead-lettering the record being processed (see `isRetryable`).
   */
  readonly retryable: boolean

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'LookoutError'
    this.code = code
    this.hint = options.hint
    this.retryable = options.retryable ?? false
  }

  /** The text shown to a person: the problem, then what to do. */
  describe(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message
  }
}

export function isLookoutError(error: unknown): error is LookoutError {
  return error instanceof LookoutError
}

/** An error's message with its aggregated errors and causes, for one log line. */
export function describeError(error: unknown, depth = 0): string {
  if (!(error instanceof Error) || depth > 4) return String(error)
  const parts = [error.message]
  const nested = (error as { errors?: unknown[] }).errors
  if (Array.isArray(nested) && nested.length)
    // an aggregate often holds the same error once per partition or broker: each text once
    parts.push(`[${[...new Set(nested.map((e) => describeError(e, depth + 1)))].join('; ')}]`)
  const cause = (error as { cause?: unknown }).cause
  if (cause) parts.push(`caused by ${describeError(cause, depth + 1)}`)
  return parts.join(' ')
}

import { setTimeout as sleep } from 'node:timers/promises'
import { GenericError, MultipleErrors } from '@platformatic/kafka'
import { describeError, ErrorCodes, isLookoutError, LookoutError } from '../errors.ts'
import type { Logger } from '../log.ts'

export interface RetryPolicy {
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + (ceiling / 2) * random())
}

/**
 * Runs `connect` until it succeeds, with one log line per failed attempt; after the last
 * attempt throws KAFKA_UNREACHABLE naming the brokers tried.
 */
export async function withConnectionRetry<T>(
  brokers: readonly string[],
  policy: RetryPolicy,
  log: Logger,
  connect: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  let lastError: unknown
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    try {
      return await connect()
    } catch (error) {
      lastError = error
      if (signal?.aborted) throw error
      if (attempt === policy.attempts) {
        log.warn(`cannot reach Kafka (attempt ${attempt}/${policy.attempts}): ${describeError(error)}; giving up`, {
          brokers: brokers.join(','),
        })
        break
      }
      const delay = backoffDelay(policy, attempt)
      log.warn(
        `cannot reach Kafka (attempt ${attempt}/${policy.attempts}): ${describeError(error)}; retrying in ${delay} ms`,
        {
          brokers: brokers.join(','),
        },
      )
      await sleep(delay, undefined, signal ? { signal } : undefined)
    }
  }
  throw new LookoutError(
    ErrorCodes.KAFKA_UNREACHABLE,
    `cannot reach Kafka at ${brokers.join(', ')} after ${policy.attempts} attempts: ${describeError(lastError)}`,
    {
      hint: 'check that the brokers are running and reachable (lookout broker status), or fix --brokers / LOOKOUT_BROKERS',
      cause: lastError,
      retryable: true,
    },
  )
}

/** Kafka protocol errors that a later attempt can get past although the client marks them final. */
const transientProtocolErrors = new Set(['BROKER_NOT_AVAILABLE', 'REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION'])

/** Error codes of Node sockets that mean "the other side is (momentarily) not there". */
const transientSocketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])

/**
 * Whether the operation that threw `error` may succeed if tried again later, unchanged.
 *
 * - Lookout's errors say so themselves (`LookoutError.retryable`).
 * - The Kafka client's errors carry the protocol's own classification (`canRetry`: a leader
 *   change, a moving coordinator, a timed-out request, a lost connection), plus what the runtime
 *   recovers from by rejoining the group (`needsRejoin`) or refreshing metadata
 *   (`hasStaleMetadata`); client timeouts and network errors are transient. An aggregate is
 *   retryable when every error in it is: one authorization failure or fenced producer among
 *   leader changes will not go away.
 * - Anything else (a processor's bug, a record it cannot handle, a client usage error) is not:
 *   trying the same input again fails the same way.
 */
export function isRetryable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false
  if (isLookoutError(error)) return error.retryable
  if (GenericError.isGenericError(error)) {
    if (MultipleErrors.isMultipleErrors(error)) {
      const nested = error.errors.filter((e): e is Error => e instanceof Error)
      if (nested.length > 0) return nested.every((e) => isRetryable(e, depth + 1))
    }
    const properties = error as GenericError
    if (properties.producerFenced === true || properties.fencedInstanceId === true) return false
    if (properties.canRetry === true || properties.needsRejoin === true || properties.hasStaleMetadata === true)
      return true
    if (typeof properties.apiId === 'string' && transientProtocolErrors.has(properties.apiId)) return true
    // TimeoutError carries the network code with canRetry false: the request is not resent on
    // its connection, but the batch can be
    if (properties.code === 'PLT_KFK_NETWORK' || properties.code === 'PLT_KFK_TIMEOUT') return true
    return error.cause !== undefined && isRetryable(error.cause, depth + 1)
  }
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && transientSocketCodes.has(code)) return true
  return error.cause !== undefined && isRetryable(error.cause, depth + 1)
}

export interface FailureStreakOptions {
  /** Backoff after the first failure; doubles per failure up to `maxDelayMs`. */
  baseDelayMs: number
  maxDelayMs: number
  /** Failures not attributable to the input, in a row, that make the worker stalled. */
  stallAfterFailures: number
  /**
   * An idle worker (nothing to process) that has not failed for this long has recovered, even
   * though no success says so. Longer than the longest backoff, so that a worker that fails on
   * every attempt never looks idle long enough. Default: twice `maxDelayMs`.
   */
  quietMs?: number
}

/**
 * The failed attempts in a row of one worker (a processor runtime): the backoff before its next
 * attempt, and whether it is stalled, i.e. cannot make progress. A failure attributable to the
 * input (a record the worker sets aside on a later attempt) only lengthens the backoff; the
 * others stall the worker when they are not retryable or repeat `stallAfterFailures` times in a
 * row. A success ends the streak.
 */
export class FailureStreak {
  readonly #options: FailureStreakOptions
  /** Failed attempts in a row. */
  attempts = 0
  /** Of those, the ones not attributable to the input. */
  unattributed = 0
  /** Why the worker is stalled; undefined while it is not. */
  stalled: string | undefined
  /** When the last failure happened (ms since the epoch). */
  lastFailureAt = 0

  constructor(options: FailureStreakOptions) {
    this.#options = options
  }

  /** Counts one failed attempt of `who`; returns true when it makes the worker stalled (again). */
  fail(
    error: unknown,
    options: { who: string; attributable: boolean; retryable?: boolean },
    now = Date.now(),
  ): boolean {
    this.attempts++
    this.lastFailureAt = now
    if (options.attributable) return false
    this.unattributed++
    const retryable = options.retryable ?? isRetryable(error)
    if (retryable && this.unattributed < this.#options.stallAfterFailures) return false
    const plural = this.unattributed === 1 ? '' : 's'
    this.stalled = `${options.who} makes no progress: ${this.unattributed} failed attempt${plural} in a row${
      retryable ? '' : ' (not retryable)'
    }, the last: ${describeError(error)}`
    return true
  }

  /** An attempt succeeded; returns true when the worker was stalled. */
  succeed(): boolean {
    const wasStalled = this.stalled !== undefined
    this.attempts = 0
    this.unattributed = 0
    this.stalled = undefined
    return wasStalled
  }

  /**
   * The worker has nothing to do (and nothing waiting for a retry): if it has not failed for
   * `quietMs`, what stalled it has passed. Returns true when that ends a stall.
   */
  idle(now = Date.now()): boolean {
    if (this.attempts === 0) return false
    if (now - this.lastFailureAt < (this.#options.quietMs ?? 2 * this.#options.maxDelayMs)) return false
    return this.succeed()
  }

  /** The wait before the next attempt. */
  delayMs(random: () => number = Math.random): number {
    const policy = { attempts: 0, baseDelayMs: this.#options.baseDelayMs, maxDelayMs: this.#options.maxDelayMs }
    return backoffDelay(policy, Math.max(1, this.attempts), random)
  }
}

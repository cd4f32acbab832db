import { setTimeout as sleep } from 'node:timers/promises'
import { describeError, ErrorCodes, LookoutError } from '../errors.ts'
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
    },
  )
}

/** Reconnect delays: capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). Pure. */

export interface BackoffPolicy {
  /** Delay ceiling of the first retry. */
  baseDelayMs: number
  /** No delay ever exceeds this, however many attempts failed. */
  maxDelayMs: number
  /** Smallest delay, so a flapping broker is never hammered in a tight loop. */
  minDelayMs: number
}

export const defaultBackoffPolicy: BackoffPolicy = { baseDelayMs: 1_000, maxDelayMs: 30_000, minDelayMs: 250 }

/**
 * Delay before reconnect attempt `attempt` (0 = first retry after a loss): uniform in [min, min(max, base * 2^attempt)].
 * `random` is a number in [0, 1) supplied by the caller, so the function stays deterministic under test.
 */
export function reconnectDelayMs(attempt: number, random: number, policy: BackoffPolicy = defaultBackoffPolicy): number {
  const safeAttempt = Math.max(0, Math.min(attempt, 30))
  const ceilingMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** safeAttempt)
  const clampedRandom = Math.min(Math.max(random, 0), 1)
  const floorMs = Math.min(policy.minDelayMs, ceilingMs)
  return Math.round(floorMs + (ceilingMs - floorMs) * clampedRandom)
}

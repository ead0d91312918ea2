/** Time, injected so services never read it themselves. */
export interface Clock {
  /** Wall-clock instant as an ISO-8601 string, for messages. */
  nowIso(): string
  /** Monotonic milliseconds, for measuring latency and timeouts. */
  monotonicMs(): number
}

export const systemClock: Clock = {
  nowIso: () => new Date().toISOString(),
  monotonicMs: () => performance.now(),
}

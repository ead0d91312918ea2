/** Time, injected so services and tests agree on it. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number
}

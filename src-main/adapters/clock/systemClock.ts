import type { Clock } from '../../ports/Clock.ts'

export const systemClock: Clock = { nowMs: () => Date.now() }

/** A clock that moves only when told to (tests). */
export function createManualClock(startMs: number): Clock & { advanceMs(deltaMs: number): void } {
  let nowMs = startMs
  return {
    nowMs: () => nowMs,
    advanceMs: (deltaMs) => {
      nowMs += deltaMs
    },
  }
}

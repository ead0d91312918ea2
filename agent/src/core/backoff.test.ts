import { describe, expect, it } from 'vitest'
import { defaultBackoffPolicy, reconnectDelayMs } from './backoff.ts'

describe('reconnectDelayMs', () => {
  const policy = { baseDelayMs: 1_000, maxDelayMs: 30_000, minDelayMs: 250 }

  it.each([
    [0, 0, 250],
    [0, 1, 1_000],
    [1, 1, 2_000],
    [3, 1, 8_000],
    [5, 1, 30_000],
    [40, 1, 30_000],
    [2, 0.5, 250 + (4_000 - 250) / 2],
  ])('attempt %i with random %f waits %f ms', (attempt, random, expected) => {
    expect(reconnectDelayMs(attempt, random, policy)).toBe(Math.round(expected))
  })

  it('stays within [min, max] for any attempt and random number', () => {
    for (let attempt = 0; attempt < 100; attempt++) {
      for (const random of [0, 0.001, 0.37, 0.5, 0.999, 1]) {
        const delayMs = reconnectDelayMs(attempt, random, defaultBackoffPolicy)
        expect(delayMs).toBeGreaterThanOrEqual(defaultBackoffPolicy.minDelayMs)
        expect(delayMs).toBeLessThanOrEqual(defaultBackoffPolicy.maxDelayMs)
      }
    }
  })

  it('grows its ceiling exponentially until the cap', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6].map((attempt) => reconnectDelayMs(attempt, 1, policy))
    expect(ceilings).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000])
  })

  it('clamps out-of-range random numbers and negative attempts', () => {
    expect(reconnectDelayMs(-3, 5, policy)).toBe(1_000)
    expect(reconnectDelayMs(2, -1, policy)).toBe(250)
  })
})

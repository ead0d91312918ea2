import { describe, expect, it } from 'vitest'
import type { SimulationInput } from '../../../src-shared/domain/rollout.ts'
import { simulateRollout, syntheticFleet } from './simulateRollout.ts'
import { aSpec, cpuVariant } from './testing/builders.ts'

const MINUTE_MS = 60_000
const calm: SimulationInput = {
  syntheticDeviceCount: 1000,
  failureRate: 0,
  healthFailureRate: 0,
  onlineRatio: 1,
  latencyRatio: 1,
  installDurationMs: 5 * MINUTE_MS,
  timeStepMs: MINUTE_MS,
  seed: 7,
}
const spec = aSpec({ soakMs: 30 * MINUTE_MS })
const run = (simulation: Partial<SimulationInput> = {}, fleetSize = 1000) =>
  simulateRollout({ fleet: syntheticFleet(fleetSize), spec, variants: [cpuVariant], simulation: { ...calm, ...simulation }, startMs: Date.parse('2025-03-01T00:00:00Z') })

describe('simulateRollout', () => {
  it('completes a healthy fleet and reports the time to 100%', () => {
    const result = run()
    expect(result.outcome).toBe('completed')
    expect(result.exposedCount).toBe(1000)
    expect(result.waves.map((wave) => wave.cumulativeDeviceCount)).toEqual([10, 100, 500, 1000])
    // Four waves, each up to 7.5 min of installs and a 30 min soak.
    expect(result.timeToCompleteMs).toBeGreaterThanOrEqual(4 * 30 * MINUTE_MS)
    expect(result.timeToCompleteMs).toBeLessThanOrEqual(4 * 40 * MINUTE_MS)
    expect(result.timeline.at(-1)?.event).toMatch(/completed/)
  })

  it('halts on install failures and reports how many devices were exposed before the halt', () => {
    const result = run({ failureRate: 0.2 })
    expect(result.outcome).toBe('halted')
    expect(result.haltReasons).toContain('install-failures')
    expect(result.exposedCount).toBeLessThanOrEqual(100)
    expect(result.timeToCompleteMs).toBeNull()
  })

  it('halts on a latency regression', () => {
    const result = run({ latencyRatio: 1.5 })
    expect(result).toMatchObject({ outcome: 'halted', haltReasons: ['latency-regression'], exposedCount: 10 })
  })

  it('stalls when no device of the canary is online', () => {
    const result = run({ onlineRatio: 0 }, 50)
    expect(result.outcome).toBe('stalled')
    expect(result.exposedCount).toBe(5)
  })

  it('is deterministic for a seed and varies with it', () => {
    const noisy = { failureRate: 0.03, onlineRatio: 0.9 }
    expect(run({ ...noisy, seed: 1 })).toEqual(run({ ...noisy, seed: 1 }))
    const timelines = new Set([1, 2, 3, 4].map((seed) => JSON.stringify(run({ ...noisy, seed }).timeline)))
    expect(timelines.size).toBeGreaterThan(1)
  })
})

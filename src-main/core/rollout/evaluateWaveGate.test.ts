import { describe, expect, it } from 'vitest'
import type { GateReason } from '../../../src-shared/domain/rollout.ts'
import { DEFAULT_GATES } from './defaults.ts'
import { describeGateDecision, evaluateWaveGate, type WaveStats } from './evaluateWaveGate.ts'
import { someStats } from './testing/builders.ts'

const same = (deviceCount: number, ratio: number) => ({
  sameDevices: { deviceCount, ratio },
  controlCohort: { treatedCount: 0, controlCount: 0, ratio: null },
})
const control = (treatedCount: number, controlCount: number, ratio: number) => ({
  sameDevices: { deviceCount: 0, ratio: null },
  controlCohort: { treatedCount, controlCount, ratio },
})

const cases: Array<[string, Partial<WaveStats>, 'wait' | 'advance' | 'halt', GateReason[]]> = [
  ['advances a settled, soaked, healthy wave', {}, 'advance', []],
  ['halts at 5% install failures after 20 executed', { committedCount: 19, failedCount: 1, sentCount: 20, cumulativeDeviceCount: 20 }, 'halt', ['install-failures']],
  ['ignores 1 failure in 19 executed (below the 20 minimum)', { committedCount: 18, failedCount: 1, sentCount: 19, pendingInWaveCount: 81 }, 'wait', ['devices-pending']],
  ['a rollout of fewer than 20 devices uses all of them: 1 of 5 is 20%', { committedCount: 4, failedCount: 1, sentCount: 5, cumulativeDeviceCount: 5, totalDeviceCount: 5 }, 'halt', ['install-failures']],
  ['a canary of 10 in a large rollout does not halt on 1 failure (below the 20 minimum)', { committedCount: 9, failedCount: 1, sentCount: 10, cumulativeDeviceCount: 10 }, 'advance', []],
  ['halts when the minimum executed and not one device committed', { committedCount: 0, failedCount: 5, sentCount: 5, cumulativeDeviceCount: 5 }, 'halt', ['install-failures']],
  ['passes 4.9% install failures', { committedCount: 97, failedCount: 5, sentCount: 102 }, 'advance', []],
  ['halts at 10% timeouts after 20', { committedCount: 18, timedOutCount: 2, sentCount: 20 }, 'halt', ['timeouts']],
  ['passes 5% timeouts', { committedCount: 19, timedOutCount: 1, sentCount: 20 }, 'advance', []],
  ['counts silent devices on their own: 25% of 20 sent halts', { committedCount: 15, silentCount: 5, sentCount: 20 }, 'halt', ['silent-devices']],
  ['silent devices below their minimum sent do not halt', { committedCount: 5, silentCount: 5, sentCount: 10, cumulativeDeviceCount: 10 }, 'advance', []],
  ['halts on health-check failures once the minimum executed', { committedCount: 2, healthFailureCount: 3, sentCount: 5, cumulativeDeviceCount: 5 }, 'halt', ['health-check-failures']],
  ['waits on health failures until the minimum executed', { committedCount: 0, healthFailureCount: 3, sentCount: 5, pendingInWaveCount: 2, cumulativeDeviceCount: 5 }, 'wait', ['devices-pending', 'too-few-executed']],
  ['halts on p95 latency 1.4x the same devices', { latency: same(5, 1.4) }, 'halt', ['latency-regression']],
  ['passes p95 latency 1.2x (the limit itself)', { latency: same(5, 1.2) }, 'advance', []],
  ['ignores latency from too few devices', { latency: same(2, 3) }, 'advance', []],
  ['falls back to the matched control cohort', { latency: control(4, 10, 1.5) }, 'halt', ['latency-regression']],
  ['needs enough control devices too', { latency: control(4, 2, 1.5) }, 'advance', []],
  ['halts on drift above the threshold with enough samples', { drift: { score: 0.25, sampleCount: 500 } }, 'halt', ['drift']],
  ['judges latency only once the wave has soaked', { latency: same(5, 2), soakRemainingMs: 60_000 }, 'wait', ['soaking']],
  ['judges drift only once the wave has soaked', { drift: { score: 0.9, sampleCount: 500 }, pendingInWaveCount: 2, soakRemainingMs: null }, 'wait', ['devices-pending']],
  ['ignores drift from too few samples', { drift: { score: 0.9, sampleCount: 50 } }, 'advance', []],
  ['waits while devices of the wave are pending', { pendingInWaveCount: 3, soakRemainingMs: null }, 'wait', ['devices-pending']],
  ['waits for the soak', { soakRemainingMs: 60_000 }, 'wait', ['soaking']],
  ['waits for the minimum executed before any verdict', { committedCount: 3, silentCount: 2, sentCount: 5, cumulativeDeviceCount: 5 }, 'wait', ['too-few-executed']],
  ['a 3-device fleet needs all 3', { committedCount: 3, sentCount: 3, cumulativeDeviceCount: 3 }, 'advance', []],
  ['reports every rule that fired', { committedCount: 16, failedCount: 2, timedOutCount: 2, sentCount: 20, latency: same(16, 2) }, 'halt', ['install-failures', 'timeouts', 'latency-regression']],
]

describe('evaluateWaveGate', () => {
  it.each(cases)('%s', (_name, stats, verdict, reasons) => {
    const decision = evaluateWaveGate(someStats(stats), DEFAULT_GATES)
    expect(decision.verdict).toBe(verdict)
    expect(decision.reasons).toEqual(reasons)
  })

  it('reports the values behind the verdict, ratios only past their minimum', () => {
    const { values } = evaluateWaveGate(someStats({ committedCount: 9, failedCount: 1, sentCount: 10, pendingInWaveCount: 90, latency: same(9, 1.1) }), DEFAULT_GATES)
    expect(values).toMatchObject({ executedCount: 10, installFailureRatio: null, healthFailureRatio: 0, latencyRatio: 1.1, latencyBasis: 'same-devices' })
  })

  it('applies thresholds from the policy', () => {
    const strict = { ...DEFAULT_GATES, maxLatencyRatio: 1.05 }
    expect(evaluateWaveGate(someStats({ latency: same(5, 1.1) }), strict).verdict).toBe('halt')
  })

  it('describes a halt with its numbers', () => {
    const decision = evaluateWaveGate(someStats({ committedCount: 18, failedCount: 2, sentCount: 20 }), DEFAULT_GATES)
    expect(describeGateDecision(decision, DEFAULT_GATES)).toBe('install failures 10.0% >= 5.0% (2 of 20)')
  })
})

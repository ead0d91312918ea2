import { describe, expect, it } from 'vitest'
import { DEFAULT_DRIFT_SETTINGS, type DriftReference, type DriftSettings } from '../../../src-shared/domain/drift.ts'
import { advanceDriftStreak, advanceLatencyStreak, newStreakState, type StreakState } from './alertStreaks.ts'
import { createDriftLayout, packDriftCounts } from './driftLayout.ts'
import { compareRowsByDrift, evaluateRow, scoreAllMetrics, scoreEntry } from './evaluateDrift.ts'
import { jensenShannonDistance, populationStabilityIndex, wassersteinDistanceBinned } from './metrics.ts'

const reference: DriftReference = {
  features: [
    { name: 'a', bin_edges: [0, 1], reference_counts: [100, 100, 100] },
    { name: 'b', bin_edges: [5], reference_counts: [150, 150] },
  ],
  predictions: { name: 'class', bin_edges: [0.5], reference_counts: [200, 100] },
}
const layout = createDriftLayout(reference, 'ab'.repeat(32))
const settings: DriftSettings = DEFAULT_DRIFT_SETTINGS

describe('driftLayout', () => {
  it('lays features then predictions out in one vector', () => {
    expect(layout.features.map((entry) => [entry.offset, entry.binCount])).toEqual([
      [0, 3],
      [3, 2],
    ])
    expect(layout.prediction?.offset).toBe(5)
    expect(layout.length).toBe(7)
  })

  it('packs window counts, counting a missing feature as zeros and refusing a wrong length', () => {
    expect([...(packDriftCounts(layout, { a: [1, 2, 3] }, [4, 5]) ?? [])]).toEqual([1, 2, 3, 0, 0, 4, 5])
    expect(packDriftCounts(layout, { a: [1, 2] }, undefined)).toBeUndefined()
    expect(packDriftCounts(layout, { a: [1, 2, 3] }, [1, 2, 3])).toBeUndefined()
    expect([...(packDriftCounts(layout, { a: [1, 1, 1], unknown: [9] }, undefined) ?? [])]).toEqual([1, 1, 1, 0, 0, 0, 0])
  })
})

describe('scoreEntry', () => {
  it('agrees with the plain metric functions at an offset into a packed vector', () => {
    const live = [0, 0, 0, 30, 70, 1, 9]
    const entry = layout.features[1]
    if (!entry) throw new Error('layout has feature b')
    expect(scoreEntry(entry, 'psi', live).score).toBeCloseTo(populationStabilityIndex([150, 150], [30, 70]), 12)
    expect(scoreEntry(entry, 'jensenShannon', live).score).toBeCloseTo(jensenShannonDistance([150, 150], [30, 70]), 12)
    expect(scoreEntry(entry, 'wasserstein', live).score).toBeCloseTo(wassersteinDistanceBinned([5], [150, 150], [30, 70]), 12)
    expect(scoreAllMetrics(entry, [0, 0, 0, 0, 0, 0, 0])).toBeNull()
  })
})

describe('evaluateRow', () => {
  const row = (live: number[], overrides: Partial<DriftSettings> = {}) => evaluateRow(layout, 'd-1', 1, live, { ...settings, ...overrides })

  it('gives no verdict below minSamples, whatever the distance', () => {
    const result = row([199, 0, 0, 199, 0, 0, 0])
    expect(result.cells.map((cell) => cell.verdict)).toEqual(['insufficient', 'insufficient'])
    expect(result.verdict).toBe('insufficient')
    expect(result.driftShare).toBeNull()
  })

  it('drifts a row when at least half of its evaluated features drift; predictions never count', () => {
    const oneOfTwo = row([300, 0, 0, 150, 150, 0, 300])
    expect(oneOfTwo.cells.map((cell) => cell.verdict)).toEqual(['drift', 'stable'])
    expect(oneOfTwo.prediction?.verdict).toBe('drift')
    expect(oneOfTwo.driftShare).toBe(0.5)
    expect(oneOfTwo.verdict).toBe('drift')
    expect(row([300, 0, 0, 150, 150, 0, 300], { deviceDriftShare: 0.75 }).verdict).toBe('stable')
    expect(row([100, 100, 100, 150, 150, 0, 300]).verdict).toBe('stable')
  })

  it('orders drifting rows first, then by share and largest score', () => {
    const drifting = evaluateRow(layout, 'z', 1, [300, 0, 0, 0, 300, 0, 0], settings)
    const halfway = evaluateRow(layout, 'y', 1, [300, 0, 0, 150, 150, 0, 0], settings)
    const stable = evaluateRow(layout, 'a', 1, [100, 100, 100, 150, 150, 0, 0], settings)
    expect([stable, halfway, drifting].sort(compareRowsByDrift).map((result) => result.key)).toEqual(['z', 'y', 'a'])
  })
})

describe('alert streaks', () => {
  const window = (reportSeq: number, modelSha256: string | null = 'm1') => ({
    reportSeq,
    windowStartAt: new Date(Date.UTC(2025, 0, 1, 0, reportSeq)).toISOString(),
    windowEndAt: new Date(Date.UTC(2025, 0, 1, 0, reportSeq + 1)).toISOString(),
    modelSha256,
  })
  const shifted = [120, 0, 0, 0, 120, 0, 0]
  const normal = [40, 40, 40, 60, 60, 0, 0]

  it('merges short windows until minSamples, raises once after sustainedWindows bad ones and clears on a good one', () => {
    let state: StreakState = newStreakState()
    const outcomes: string[] = []
    for (const [seq, counts] of [shifted, shifted, shifted, shifted, shifted, shifted, shifted, shifted, normal, normal].entries()) {
      const step = advanceDriftStreak(state, window(seq + 1), counts, layout, settings)
      state = step.state
      outcomes.push(step.outcome.kind)
    }
    // 120 samples a window: an evaluation window closes every second window; the third bad one raises.
    expect(outcomes).toEqual(['none', 'none', 'none', 'none', 'none', 'raise', 'none', 'none', 'none', 'clear'])
  })

  it('ignores late windows for the streak', () => {
    let state = newStreakState()
    state = advanceDriftStreak(state, window(5), shifted, layout, { ...settings, minSamples: 100, sustainedWindows: 2 }).state
    const late = advanceDriftStreak(state, window(4), shifted, layout, { ...settings, minSamples: 100, sustainedWindows: 2 })
    expect(late.state).toBe(state)
    expect(late.outcome.kind).toBe('none')
  })

  it('judges latency on the p95 of merged windows', () => {
    const slow = new Array<number>(73).fill(0)
    slow[70] = 30
    let state = newStreakState()
    const kinds: string[] = []
    for (let seq = 1; seq <= 3; seq++) {
      const step = advanceLatencyStreak(state, window(seq), slow, { ...settings, latencyP95ThresholdMs: 100 })
      state = step.state
      kinds.push(step.outcome.kind)
    }
    expect(kinds).toEqual(['none', 'none', 'raise'])
  })
})

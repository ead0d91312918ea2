import { describe, expect, it } from 'vitest'
import { heatColor, latencyChartData, overlayChartData, predictionChartData } from './dashboardData.ts'
import { aLatencySeries, anOverlay, aPredictionSeries, TEST_MODEL_SHA256 } from './telemetryBuilders.ts'

describe('heatColor', () => {
  it('runs from green through amber at the threshold to red at twice it, and stays neutral without a verdict', () => {
    expect(heatColor(0, 0.1, 'stable')).toBe('hsl(140 70% 82%)')
    expect(heatColor(0.1, 0.1, 'drift')).toBe('hsl(45 70% 71%)')
    expect(heatColor(5, 0.1, 'drift')).toBe('hsl(0 70% 60%)')
    expect(heatColor(5, 0.1, 'insufficient')).toBe('var(--surface-muted)')
  })
})

describe('chart data', () => {
  it('gives the selected release three percentiles and the others their p95, one row per bucket', () => {
    const other = 'cd'.repeat(32)
    const series = aLatencySeries({
      releases: [
        { modelSha256: TEST_MODEL_SHA256, label: 'new' },
        { modelSha256: other, label: 'old' },
      ],
      points: [
        { bucketStartAt: '2025-01-01T11:00:00.000Z', modelSha256: TEST_MODEL_SHA256, p50Ms: 1, p95Ms: 2, p99Ms: 3, requestCount: 1, errorCount: 0 },
        { bucketStartAt: '2025-01-01T11:00:00.000Z', modelSha256: other, p50Ms: 4, p95Ms: 5, p99Ms: 6, requestCount: 1, errorCount: 0 },
      ],
    })
    const { rows, lines } = latencyChartData(series, TEST_MODEL_SHA256)
    expect(rows).toEqual([{ bucket: '11:00', 'new p50': 1, 'new p95': 2, 'new p99': 3, 'old p95': 5 }])
    expect(lines.map((line) => [line.key, line.isDashed])).toEqual([
      ['new p50', false],
      ['new p95', false],
      ['new p99', false],
      ['old p95', true],
    ])
  })

  it('turns counts into shares for the overlay and the prediction bars', () => {
    expect(overlayChartData(anOverlay())).toEqual([
      { bin: '< 0', reference: 0.5, live: 0.1 },
      { bin: '>= 0', reference: 0.5, live: 0.9 },
    ])
    expect(predictionChartData(aPredictionSeries())).toEqual([
      { bucket: 'reference', 'class 0': 0.6, 'class 1': 0.4 },
      { bucket: '11:00', 'class 0': 0.3, 'class 1': 0.7 },
    ])
  })
})

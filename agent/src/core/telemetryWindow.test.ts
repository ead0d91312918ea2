import { describe, expect, it } from 'vitest'
import { LATENCY_BUCKET_UPPER_MS, latencyBucketIndex, latencyQuantileMs } from '../../../src-shared/protocol/latencyHistogram.ts'
import { closeWindow, countInference, recordInference, startWindow } from './telemetryWindow.ts'

describe('telemetry window accumulation', () => {
  it('counts requests, errors and latency buckets', () => {
    let window = startWindow('2026-01-01T00:00:00.000Z')
    for (const latencyMs of [0.2, 0.2, 3, 40]) window = recordInference(window, { latencyMs })
    window = recordInference(window, { error: true })
    expect(window.requestCount).toBe(5)
    expect(window.errorCount).toBe(1)
    expect(window.latencyCounts).toHaveLength(LATENCY_BUCKET_UPPER_MS.length + 1)
    expect(window.latencyCounts[latencyBucketIndex(0.2)]).toBe(2)
    expect(window.latencyCounts[latencyBucketIndex(3)]).toBe(1)
    expect(window.latencyCounts.reduce((sum, count) => sum + count, 0)).toBe(4)
  })

  it('does not mutate the window it was given', () => {
    const window = startWindow('2026-01-01T00:00:00.000Z')
    recordInference(window, { latencyMs: 1 })
    expect(window.requestCount).toBe(0)
    expect(window.latencyCounts.every((count) => count === 0)).toBe(true)
  })

  it('counts in place into an owned window, as recordInference does by copy', () => {
    const owned = startWindow('2026-01-01T00:00:00.000Z')
    countInference(owned, { latencyMs: 3 })
    countInference(owned, { error: true })
    expect(owned).toEqual(recordInference(recordInference(startWindow('2026-01-01T00:00:00.000Z'), { latencyMs: 3 }), { error: true }))
  })

  it('puts latencies above the last bound into the overflow bucket and negatives into the first', () => {
    let window = startWindow('2026-01-01T00:00:00.000Z')
    window = recordInference(window, { latencyMs: 1e9 })
    window = recordInference(window, { latencyMs: -5 })
    expect(window.latencyCounts[LATENCY_BUCKET_UPPER_MS.length]).toBe(1)
    expect(window.latencyCounts[0]).toBe(1)
  })

  it('closes a window and starts the next one where it ended', () => {
    let window = startWindow('2026-01-01T00:00:00.000Z')
    for (let i = 0; i < 100; i++) window = recordInference(window, { latencyMs: 10 })
    const { closed, next } = closeWindow(window, '2026-01-01T00:01:00.000Z')
    expect(closed).toMatchObject({ windowStartAt: '2026-01-01T00:00:00.000Z', windowEndAt: '2026-01-01T00:01:00.000Z', requestCount: 100, errorCount: 0 })
    expect(latencyQuantileMs(closed.latencyCounts, 0.5)).toBeGreaterThan(10 / 1.2)
    expect(latencyQuantileMs(closed.latencyCounts, 0.5)).toBeLessThan(10 * 1.2)
    expect(next).toMatchObject({ windowStartAt: '2026-01-01T00:01:00.000Z', requestCount: 0, errorCount: 0 })
  })
})

import { describe, expect, it } from 'vitest'
import {
  type CalibrationMethod,
  accumulateHistogram,
  accumulateRange,
  createHistogram,
  createRangeStatistics,
  entropyRange,
  klDivergence,
  minMaxRange,
  percentileRange,
  quantizationDivergence,
  rangeFromStatistics,
  smoothDistribution,
} from './calibration.ts'

/** A histogram of `values` over [-limit, limit] built the way the calibration adapter builds it (two passes). */
function histogramOf(values: number[], binCount: number) {
  const statistics = accumulateRange(createRangeStatistics(), values)
  return accumulateHistogram(createHistogram(statistics, binCount), values)
}

function repeat(value: number, count: number): number[] {
  return new Array<number>(count).fill(value)
}

/** Deterministic standard-normal samples (Box-Muller over a linear congruential sequence). */
function normalSamples(count: number, seed: number): number[] {
  let state = seed
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return (state + 1) / 4294967297
  }
  return Array.from({ length: count }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()))
}

describe('range statistics', () => {
  it('streams min and max across batches and skips non-finite values', () => {
    const statistics = createRangeStatistics()
    accumulateRange(statistics, [1, -2, 3])
    accumulateRange(statistics, Float32Array.from([Number.NaN, 5, Infinity]))
    expect(statistics).toEqual({ min: -2, max: 5, count: 4 })
    expect(minMaxRange(statistics)).toEqual({ min: -2, max: 5 })
  })

  it('reports [0, 0] for a tensor that produced no finite value', () => {
    expect(minMaxRange(accumulateRange(createRangeStatistics(), [Number.NaN]))).toEqual({ min: 0, max: 0 })
  })
})

describe('histogram', () => {
  it('spans [-t, t] with t = max |x| and puts each value in its bin', () => {
    const histogram = histogramOf([-10, -0.5, 0.5, 9.99, 10], 20)
    expect(histogram.limit).toBe(10)
    // Width 1: -10 -> bin 0, -0.5 -> bin 9, 0.5 -> bin 10, 9.99 and 10 -> bin 19 (the top edge is inclusive).
    expect(histogram.counts[0]).toBe(1)
    expect(histogram.counts[9]).toBe(1)
    expect(histogram.counts[10]).toBe(1)
    expect(histogram.counts[19]).toBe(2)
  })

  it('counts a constant-zero tensor next to zero without dividing by zero', () => {
    const histogram = histogramOf([0, 0, 0], 8)
    expect(histogram.counts[4]).toBe(3)
    expect(percentileRange(histogram)).toEqual({ min: 0, max: 0 })
    expect(entropyRange(histogram, 4)).toEqual({ min: 0, max: 0 })
  })
})

describe('percentileRange', () => {
  // 99 values at 0.5 and one outlier at 9.5: 20 bins of width 0.95 over [-9.5, 9.5].
  const skewed = histogramOf([...repeat(0.5, 99), 9.5], 20)

  it.each([
    // 99% of |x| lies in the first folded bin [0, 0.95): threshold 0.95, clamped below by the observed min 0.5.
    ['symmetric 99th percentile drops the outlier', 99, true, { min: 0.5, max: 0.95 }],
    // 99.999% needs the outlier: the whole range.
    ['symmetric 99.999th percentile keeps the outlier', 99.999, true, { min: 0.5, max: 9.5 }],
  ])('%s', (_label, percentile, symmetric, expected) => {
    const range = percentileRange(skewed, percentile, symmetric)
    expect(range.min).toBeCloseTo(expected.min, 12)
    expect(range.max).toBeCloseTo(expected.max, 12)
  })

  it('cuts (100 - p) / 2 percent from each tail when asymmetric', () => {
    // 200 bins of width 0.1 over [-10, 10], 5 values each: a 0.5% tail is exactly the outermost bin on each side.
    const histogram = { limit: 10, counts: new Float64Array(200).fill(5), observed: { min: -10, max: 10, count: 1000 } }
    const range = percentileRange(histogram, 99, false)
    expect(range.min).toBeCloseTo(-9.9, 9)
    expect(range.max).toBeCloseTo(9.9, 9)
  })
})

describe('KL divergence helpers', () => {
  it('smooths zeros without changing the total', () => {
    const smoothed = smoothDistribution(Float64Array.from([0, 2, 0, 2]), 0.5)
    expect(Array.from(smoothed ?? [])).toEqual([0.5, 1.5, 0.5, 1.5])
    expect(smoothDistribution(new Float64Array(3))).toBeUndefined()
  })

  it('computes KL(p||q) in nats on normalized inputs', () => {
    // p = (1/2, 1/2), q = (1/4, 3/4): 0.5 ln 2 + 0.5 ln(2/3).
    expect(klDivergence(Float64Array.from([1, 1]), Float64Array.from([1, 3]))).toBeCloseTo(0.5 * Math.log(2) + 0.5 * Math.log(2 / 3), 12)
    expect(klDivergence(Float64Array.from([1, 1]), Float64Array.from([1, 0]))).toBe(Infinity)
  })

  it('is zero when merging pairs of equal bins loses nothing', () => {
    // 16 bins, 8 quantized levels over the whole histogram: each level merges two equal bins.
    const counts = Float64Array.from([3, 3, 1, 1, 4, 4, 1, 1, 5, 5, 9, 9, 2, 2, 6, 6])
    expect(quantizationDivergence(counts, 8, 8)).toBeCloseTo(0, 12)
    // Unequal neighbours make the merged distribution differ.
    counts[0] = 5
    expect(quantizationDivergence(counts, 8, 8)).toBeGreaterThan(0)
  })
})

describe('entropyRange', () => {
  it('clips a long-tailed distribution far inside its maximum', () => {
    const values = [...normalSamples(20_000, 7), 60]
    const range = entropyRange(histogramOf(values, 2048), 128)
    expect(range.max).toBeGreaterThan(2)
    expect(range.max).toBeLessThan(20)
    // The symmetric threshold is clamped by the observed minimum when the negative tail is shorter.
    expect(range.min).toBe(Math.max(-range.max, Math.min(...values)))
  })

  it('keeps nearly the whole range of a uniform distribution', () => {
    const values = Array.from({ length: 20_000 }, (_, index) => -1 + (2 * index) / 19_999)
    const range = entropyRange(histogramOf(values, 2048), 128)
    expect(range.max).toBeGreaterThan(0.9)
    expect(range.max).toBeLessThanOrEqual(1)
  })

  it('is clamped to the observed range for a one-sided (post-ReLU) tensor', () => {
    const values = normalSamples(5000, 3).map((value) => Math.max(0, value))
    const range = entropyRange(histogramOf(values, 2048), 128)
    expect(range.min).toBe(0)
    expect(range.max).toBeGreaterThan(1)
  })
})

describe('rangeFromStatistics', () => {
  const values = [...normalSamples(10_000, 11), 100]
  const statistics = accumulateRange(createRangeStatistics(), values)
  const histogram = accumulateHistogram(createHistogram(statistics), values)

  it('minmax keeps the outlier', () => {
    expect(rangeFromStatistics({ method: 'minmax' }, statistics, histogram)).toEqual({ min: Math.min(...values), max: 100 })
  })

  it.each([
    // 99.999% of 10,001 values needs all but 0.1 of a value: the outlier stays.
    ['percentile', undefined, 100],
    // 99% drops it: the threshold sits near the normal's 99th |x| percentile (2.58).
    ['percentile', 99, 3],
    ['entropy', undefined, 10],
  ] as Array<[CalibrationMethod, number | undefined, number]>)('%s (p=%s) gives a maximum of at most %d', (method, percentile, bound) => {
    const range = rangeFromStatistics({ method, ...(percentile === undefined ? {} : { percentile }) }, statistics, histogram)
    expect(range.max).toBeLessThanOrEqual(bound)
    expect(range.max).toBeGreaterThan(2)
  })
})

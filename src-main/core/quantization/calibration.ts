/**
 * Calibration: turns activations observed on a calibration set into one real range per tensor.
 * - minmax: the observed minimum and maximum.
 * - percentile: the range holding `percentile`% of the values (default 99.999, symmetric: onnxruntime's defaults,
 *   anchors-quantization.md §2.5).
 * - entropy: the symmetric threshold whose 128-level quantized distribution has the smallest KL divergence from the
 *   2048-bin histogram (TensorRT's method: Migacz, "8-bit Inference with TensorRT", GTC 2017).
 * Statistics are streamed: a range pass, then (for the histogram methods) a histogram pass over [-t, t] with
 * t = max(|min|, |max|) from the first pass, so no activation is kept in memory. Pure.
 */
import { assert } from '../../../src-shared/errors.ts'

export const calibrationMethods = ['minmax', 'percentile', 'entropy'] as const
export type CalibrationMethod = (typeof calibrationMethods)[number]

export interface TensorRange {
  min: number
  max: number
}

export interface RangeStatistics {
  min: number
  max: number
  /** Finite values seen; NaN and infinities are skipped so a single bad value cannot blow the range up. */
  count: number
}

export interface Histogram {
  /** Bins cover [-limit, limit] in equal widths. */
  limit: number
  counts: Float64Array
  /** The observed range, used to clamp the thresholds. */
  observed: RangeStatistics
}

export const DEFAULT_HISTOGRAM_BINS = 2048
export const DEFAULT_QUANTIZED_BINS = 128
export const DEFAULT_PERCENTILE = 99.999

export function createRangeStatistics(): RangeStatistics {
  return { min: Infinity, max: -Infinity, count: 0 }
}

/** Folds a batch of values into running statistics (mutates `statistics`, returns it). */
export function accumulateRange(statistics: RangeStatistics, values: ArrayLike<number>): RangeStatistics {
  let { min, max, count } = statistics
  for (let index = 0; index < values.length; index++) {
    const value = values[index] ?? 0
    if (!Number.isFinite(value)) continue
    if (value < min) min = value
    if (value > max) max = value
    count++
  }
  statistics.min = min
  statistics.max = max
  statistics.count = count
  return statistics
}

/** The observed range; a tensor that never produced a finite value gets [0, 0]. */
export function minMaxRange(statistics: RangeStatistics): TensorRange {
  return statistics.count === 0 ? { min: 0, max: 0 } : { min: statistics.min, max: statistics.max }
}

export function createHistogram(observed: RangeStatistics, binCount = DEFAULT_HISTOGRAM_BINS): Histogram {
  assert(binCount >= 2 && binCount % 2 === 0, `a calibration histogram needs an even bin count >= 2, got ${binCount}`)
  const range = minMaxRange(observed)
  return { limit: Math.max(Math.abs(range.min), Math.abs(range.max)), counts: new Float64Array(binCount), observed: { ...observed } }
}

/** Adds a batch of values to a histogram; values beyond the limit land in the edge bins (mutates, returns it). */
export function accumulateHistogram(histogram: Histogram, values: ArrayLike<number>): Histogram {
  const binCount = histogram.counts.length
  if (histogram.limit === 0) {
    // A tensor that is constant zero: everything sits on the two bins next to zero.
    for (let index = 0; index < values.length; index++) if (Number.isFinite(values[index] ?? 0)) histogram.counts[binCount / 2] = (histogram.counts[binCount / 2] ?? 0) + 1
    return histogram
  }
  const binsPerUnit = binCount / (2 * histogram.limit)
  for (let index = 0; index < values.length; index++) {
    const value = values[index] ?? 0
    if (!Number.isFinite(value)) continue
    let bin = Math.floor((value + histogram.limit) * binsPerUnit)
    if (bin < 0) bin = 0
    else if (bin >= binCount) bin = binCount - 1
    histogram.counts[bin] = (histogram.counts[bin] ?? 0) + 1
  }
  return histogram
}

function clampToObserved(range: TensorRange, observed: RangeStatistics): TensorRange {
  const bounds = minMaxRange(observed)
  return { min: Math.max(range.min, bounds.min), max: Math.min(range.max, bounds.max) }
}

function totalOf(counts: ArrayLike<number>, start = 0, end = counts.length): number {
  let total = 0
  for (let index = start; index < end; index++) total += counts[index] ?? 0
  return total
}

/**
 * The range holding `percentile`% of the values. Symmetric: the smallest t with P(|x| <= t) >= p, giving [-t, t];
 * asymmetric: (100 - p) / 2 percent is cut from each tail. The bin holding the percentile is kept whole. Clamped to
 * the observed range.
 */
export function percentileRange(histogram: Histogram, percentile = DEFAULT_PERCENTILE, symmetric = true): TensorRange {
  assert(percentile > 0 && percentile <= 100, `percentile must be in (0, 100], got ${percentile}`)
  const { counts, limit } = histogram
  const binCount = counts.length
  const total = totalOf(counts)
  if (total === 0 || limit === 0) return minMaxRange(histogram.observed)
  const binWidth = (2 * limit) / binCount
  if (symmetric) {
    const half = binCount / 2
    const target = (percentile / 100) * total
    let cumulative = 0
    for (let distance = 0; distance < half; distance++) {
      cumulative += (counts[half + distance] ?? 0) + (counts[half - 1 - distance] ?? 0)
      if (cumulative >= target) {
        const threshold = (distance + 1) * binWidth
        return clampToObserved({ min: -threshold, max: threshold }, histogram.observed)
      }
    }
    return clampToObserved({ min: -limit, max: limit }, histogram.observed)
  }
  const tail = ((100 - percentile) / 200) * total
  let lowBin = 0
  for (let cumulative = 0; lowBin < binCount; lowBin++) {
    cumulative += counts[lowBin] ?? 0
    if (cumulative > tail) break
  }
  let highBin = binCount - 1
  for (let cumulative = 0; highBin >= 0; highBin--) {
    cumulative += counts[highBin] ?? 0
    if (cumulative > tail) break
  }
  return clampToObserved({ min: -limit + lowBin * binWidth, max: -limit + (highBin + 1) * binWidth }, histogram.observed)
}

/**
 * Replaces zeros by `epsilon` and takes the mass from the non-zero entries so the total stays the same, making
 * KL(p||q) finite (TensorRT's smoothing). Returns undefined when every entry is zero.
 */
export function smoothDistribution(distribution: Float64Array, epsilon = 0.0001): Float64Array | undefined {
  let zeroCount = 0
  for (const value of distribution) if (value === 0) zeroCount++
  const nonZeroCount = distribution.length - zeroCount
  if (nonZeroCount === 0) return undefined
  const taken = (epsilon * zeroCount) / nonZeroCount
  const out = new Float64Array(distribution.length)
  for (let index = 0; index < distribution.length; index++) {
    const value = distribution[index] ?? 0
    out[index] = value === 0 ? epsilon : value - taken
  }
  return out
}

/** KL(p || q) in nats after normalizing both, like scipy.stats.entropy(p, q). */
export function klDivergence(p: Float64Array, q: Float64Array): number {
  assert(p.length === q.length, 'klDivergence needs distributions of equal length')
  const pTotal = totalOf(p)
  const qTotal = totalOf(q)
  let divergence = 0
  for (let index = 0; index < p.length; index++) {
    const pValue = (p[index] ?? 0) / pTotal
    const qValue = (q[index] ?? 0) / qTotal
    if (pValue === 0) continue
    if (qValue <= 0) return Infinity
    divergence += pValue * Math.log(pValue / qValue)
  }
  return divergence
}

/**
 * KL divergence between the histogram clipped to ±(halfWidth bins) and its quantization to `quantizedBinCount`
 * levels. Exposed for tests; entropyRange searches it over every halfWidth.
 */
export function quantizationDivergence(counts: Float64Array, halfWidth: number, quantizedBinCount: number): number {
  const center = counts.length / 2
  const start = center - halfWidth
  const end = center + halfWidth
  const length = end - start
  // Reference p: the clipped slice, with the outliers folded into its edge bins.
  const p = Float64Array.from(counts.subarray(start, end))
  p[0] = (p[0] ?? 0) + totalOf(counts, 0, start)
  p[length - 1] = (p[length - 1] ?? 0) + totalOf(counts, end, counts.length)
  // Candidate q: the slice (without outliers) merged into quantized bins, then spread back evenly over the bins that
  // were non-zero in p, so empty regions stay empty.
  const q = new Float64Array(length)
  for (let level = 0; level < quantizedBinCount; level++) {
    const levelStart = Math.floor((level * length) / quantizedBinCount)
    const levelEnd = Math.floor(((level + 1) * length) / quantizedBinCount)
    let mass = 0
    let nonZero = 0
    for (let index = levelStart; index < levelEnd; index++) {
      mass += counts[start + index] ?? 0
      if ((p[index] ?? 0) !== 0) nonZero++
    }
    if (nonZero === 0) continue
    for (let index = levelStart; index < levelEnd; index++) if ((p[index] ?? 0) !== 0) q[index] = mass / nonZero
  }
  const smoothedP = smoothDistribution(p)
  const smoothedQ = smoothDistribution(q)
  if (!smoothedP || !smoothedQ) return Infinity
  return klDivergence(smoothedP, smoothedQ)
}

/**
 * TensorRT-style entropy calibration: tries every symmetric threshold from quantizedBinCount/2 bins to the whole
 * histogram and keeps the one with the smallest KL divergence, clamped to the observed range.
 */
export function entropyRange(histogram: Histogram, quantizedBinCount = DEFAULT_QUANTIZED_BINS): TensorRange {
  const { counts, limit } = histogram
  const half = counts.length / 2
  assert(quantizedBinCount % 2 === 0 && quantizedBinCount <= counts.length, `entropy calibration needs an even quantized bin count <= ${counts.length}`)
  // Fewer values than bins (e.g. a pooled [N, C] tensor) make the KL estimates noise: keep the observed range.
  if (totalOf(counts) < counts.length || limit === 0) return minMaxRange(histogram.observed)
  const binWidth = limit / half
  let bestHalfWidth = half
  let bestDivergence = Infinity
  for (let halfWidth = quantizedBinCount / 2; halfWidth <= half; halfWidth++) {
    const divergence = quantizationDivergence(counts, halfWidth, quantizedBinCount)
    if (divergence < bestDivergence) {
      bestDivergence = divergence
      bestHalfWidth = halfWidth
    }
  }
  const threshold = bestHalfWidth * binWidth
  return clampToObserved({ min: -threshold, max: threshold }, histogram.observed)
}

export interface CalibrationOptions {
  method: CalibrationMethod
  /** percentile method only. */
  percentile?: number
  /** percentile method only; onnxruntime's default is symmetric. */
  symmetric?: boolean
  histogramBins?: number
  quantizedBins?: number
}

/** Whether a method needs the second (histogram) pass. */
export function needsHistogram(method: CalibrationMethod): boolean {
  return method !== 'minmax'
}

/** The final range of one tensor from its statistics. */
export function rangeFromStatistics(options: CalibrationOptions, statistics: RangeStatistics, histogram: Histogram | undefined): TensorRange {
  switch (options.method) {
    case 'minmax':
      return minMaxRange(statistics)
    case 'percentile':
      assert(histogram, 'percentile calibration needs a histogram')
      return percentileRange(histogram, options.percentile ?? DEFAULT_PERCENTILE, options.symmetric ?? true)
    case 'entropy':
      assert(histogram, 'entropy calibration needs a histogram')
      return entropyRange(histogram, options.quantizedBins ?? DEFAULT_QUANTIZED_BINS)
  }
}

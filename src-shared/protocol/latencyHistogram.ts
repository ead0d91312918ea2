/**
 * Log-spaced latency buckets shared by agent and control center, so windows from every device add up.
 * Upper bounds in milliseconds grow by 2^(1/4) (~19%) from 0.05 ms; the last bucket is open-ended.
 * Quantiles read from these buckets are within one bucket width (~19%) of the exact value.
 */
export const LATENCY_BUCKET_UPPER_MS: readonly number[] = Array.from({ length: 72 }, (_, i) =>
  Number((0.05 * 2 ** (i / 4)).toPrecision(4)),
)

/** Index of the bucket that holds `latencyMs` (the last index holds everything above the last bound). */
export function latencyBucketIndex(latencyMs: number): number {
  let low = 0
  let high = LATENCY_BUCKET_UPPER_MS.length
  while (low < high) {
    const mid = (low + high) >> 1
    if (latencyMs <= LATENCY_BUCKET_UPPER_MS[mid]!) high = mid
    else low = mid + 1
  }
  return low
}

export function emptyLatencyCounts(): number[] {
  return new Array<number>(LATENCY_BUCKET_UPPER_MS.length + 1).fill(0)
}

/**
 * The q-quantile (0..1) of a bucketed distribution, interpolated linearly inside the bucket that holds it.
 * Returns 0 for an empty histogram.
 */
export function latencyQuantileMs(counts: readonly number[], q: number): number {
  const total = counts.reduce((sum, count) => sum + count, 0)
  if (total === 0) return 0
  const rank = q * total
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!
    if (count > 0 && seen + count >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BUCKET_UPPER_MS[i - 1]!
      const upper = LATENCY_BUCKET_UPPER_MS[i] ?? lower * 2 ** 0.25
      return lower + (upper - lower) * Math.min(1, Math.max(0, (rank - seen) / count))
    }
    seen += count
  }
  return LATENCY_BUCKET_UPPER_MS[LATENCY_BUCKET_UPPER_MS.length - 1]!
}

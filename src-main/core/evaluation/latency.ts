/** Latency summaries from measured run durations (the adapter measures; this only does arithmetic). Pure. */
import type { LatencySummary } from '../../../src-shared/domain/evaluation.ts'

/** The q-quantile (0..1) of sorted values with linear interpolation between ranks, like numpy.quantile. */
export function quantileOfSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  const position = Math.min(1, Math.max(0, q)) * (sorted.length - 1)
  const lower = Math.floor(position)
  const upper = Math.ceil(position)
  const lowerValue = sorted[lower] ?? 0
  return lowerValue + ((sorted[upper] ?? lowerValue) - lowerValue) * (position - lower)
}

/** Keeps at most this many samples on the wire for the distribution chart. */
export const MAX_LATENCY_SAMPLES = 10_000

export function summarizeLatency(durationsMs: readonly number[]): LatencySummary {
  const sorted = [...durationsMs].sort((a, b) => a - b)
  const total = sorted.reduce((sum, value) => sum + value, 0)
  return {
    runs: sorted.length,
    p50Ms: quantileOfSorted(sorted, 0.5),
    p95Ms: quantileOfSorted(sorted, 0.95),
    meanMs: sorted.length === 0 ? 0 : total / sorted.length,
    minMs: sorted[0] ?? 0,
    maxMs: sorted[sorted.length - 1] ?? 0,
    samplesMs: durationsMs.slice(0, MAX_LATENCY_SAMPLES),
  }
}

/** candidate / baseline, 0 when the baseline measured nothing. */
export function ratio(candidate: number, baseline: number): number {
  return baseline === 0 ? 0 : candidate / baseline
}

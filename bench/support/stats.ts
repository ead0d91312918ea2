/** Order statistics over timing samples. */
import { BugError } from '../../src-shared/errors.ts'

/** The q-quantile (0..1) by linear interpolation between closest ranks. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new BugError('quantile of no samples')
  const sorted = [...samples].sort((a, b) => a - b)
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q))
  const lower = Math.floor(position)
  const upper = Math.ceil(position)
  const low = sorted[lower] ?? 0
  const high = sorted[upper] ?? low
  return low + (high - low) * (position - lower)
}

export const median = (samples: readonly number[]): number => quantile(samples, 0.5)

/** Milliseconds from a high-resolution monotonic clock. */
export const nowMs = (): number => performance.now()

/** Rounds for display and JSON: 3 significant digits below 100, whole numbers above. */
export function roundFigure(value: number): number {
  if (!Number.isFinite(value)) return value
  const magnitude = Math.abs(value)
  if (magnitude >= 100) return Math.round(value)
  if (magnitude === 0) return 0
  const digits = Math.max(0, 2 - Math.floor(Math.log10(magnitude)))
  return Number(value.toFixed(Math.min(digits, 6)))
}

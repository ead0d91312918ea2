/** Pure shaping of server answers into chart rows and cell colours; no aggregation happens here. */
import type { DriftVerdict, HistogramOverlay, LatencySeries, PredictionSeries } from '../../../src-shared/domain/drift.ts'

/** Series colours readable on the light and dark themes (SVG fills do not follow the stylesheet everywhere). */
export const DASHBOARD_COLORS = {
  reference: '#8a94a3',
  live: '#3b6fe0',
  p50: '#2e9e5b',
  p95: '#e0a33b',
  p99: '#c8473b',
  classes: ['#3b6fe0', '#e0a33b', '#2e9e5b', '#c8473b', '#8a5bd6', '#2aa6b8', '#b86b2a', '#6b7a8f'],
} as const

/**
 * A heatmap cell's background: green at 0, amber at the threshold, red at twice the threshold and beyond;
 * cells without a verdict (too few samples) stay neutral, so colour never suggests evidence that is not there.
 */
export function heatColor(score: number | null, threshold: number, verdict: DriftVerdict): string {
  if (verdict === 'insufficient' || score === null) return 'var(--surface-muted)'
  const ratio = Math.min(2, Math.max(0, score / threshold))
  const hue = ratio <= 1 ? 140 - 95 * ratio : 45 - 45 * (ratio - 1)
  const lightness = 82 - 22 * (ratio / 2)
  return `hsl(${Math.round(hue)} 70% ${Math.round(lightness)}%)`
}

export function formatScore(score: number | null): string {
  if (score === null) return '—'
  if (score >= 10) return score.toFixed(0)
  return score.toFixed(score >= 1 ? 2 : 3)
}

/** The bucket label on a time axis: HH:MM for minute and hour buckets, MM-DD for days (UTC, as the server buckets). */
export function formatBucket(bucketStartAt: string, resolution: 'minute' | 'hour' | 'day'): string {
  return resolution === 'day' ? bucketStartAt.slice(5, 10) : bucketStartAt.slice(11, 16)
}

export interface LatencyRow {
  bucket: string
  [series: string]: number | string
}

/**
 * One row per time bucket; for the selected release its p50, p95 and p99, for the others their p95 only, so a
 * regression of one release stands out against the rest.
 */
export function latencyChartData(series: LatencySeries, selectedModelSha256: string | null): { rows: LatencyRow[]; lines: Array<{ key: string; color: string; isDashed: boolean }> } {
  const labelOf = new Map(series.releases.map((release) => [release.modelSha256, release.label]))
  const rows = new Map<string, LatencyRow>()
  const lines = new Map<string, { key: string; color: string; isDashed: boolean }>()
  for (const point of series.points) {
    const bucket = formatBucket(point.bucketStartAt, series.resolution)
    const row = rows.get(point.bucketStartAt) ?? { bucket }
    const label = labelOf.get(point.modelSha256) ?? 'no model'
    if (point.modelSha256 === selectedModelSha256 || selectedModelSha256 === null) {
      for (const [percentile, value] of [
        ['p50', point.p50Ms],
        ['p95', point.p95Ms],
        ['p99', point.p99Ms],
      ] as const) {
        const key = `${label} ${percentile}`
        row[key] = value
        lines.set(key, { key, color: DASHBOARD_COLORS[percentile], isDashed: false })
      }
    } else {
      const key = `${label} p95`
      row[key] = point.p95Ms
      lines.set(key, { key, color: DASHBOARD_COLORS.reference, isDashed: true })
    }
    rows.set(point.bucketStartAt, row)
  }
  return { rows: [...rows.values()], lines: [...lines.values()] }
}

/** Reference and live shares per bin (shares, not counts: the two totals differ by orders of magnitude). */
export function overlayChartData(overlay: HistogramOverlay): Array<{ bin: string; reference: number; live: number }> {
  const referenceTotal = overlay.referenceCounts.reduce((sum, count) => sum + count, 0)
  const liveTotal = overlay.liveCounts.reduce((sum, count) => sum + count, 0)
  return overlay.binLabels.map((bin, index) => ({
    bin,
    reference: referenceTotal === 0 ? 0 : (overlay.referenceCounts[index] ?? 0) / referenceTotal,
    live: liveTotal === 0 ? 0 : (overlay.liveCounts[index] ?? 0) / liveTotal,
  }))
}

/** Each bucket's prediction shares per bin, and the reference shares as the first row. */
export function predictionChartData(series: PredictionSeries): Array<Record<string, number | string>> {
  const toShares = (label: string, counts: readonly number[]) => {
    const total = counts.reduce((sum, count) => sum + count, 0)
    const row: Record<string, number | string> = { bucket: label }
    series.binLabels.forEach((bin, index) => {
      row[bin] = total === 0 ? 0 : (counts[index] ?? 0) / total
    })
    return row
  }
  return [toShares('reference', series.referenceCounts), ...series.points.map((point) => toShares(formatBucket(point.bucketStartAt, series.resolution), point.counts))]
}

export function formatShare(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`
}

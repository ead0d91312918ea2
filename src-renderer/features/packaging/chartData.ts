/** Pure view helpers for the packaging panels: chart rows and the figures' formatting. */
import type { ErrorHistogramBin, EvaluationResult } from '../../../src-shared/domain/evaluation.ts'
import type { ModelInspection } from '../../../src-shared/domain/modelInspection.ts'
import { EMPTY_CELL } from '../../lib/format.ts'

/** '0.412×': ratios are candidate / baseline. */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(ratio < 10 ? 3 : 1)}×`
}

/** '99.61%', or '—' for a figure that could not be measured. */
export function formatFraction(fraction: number | null | undefined): string {
  return fraction === null || fraction === undefined ? EMPTY_CELL : `${(fraction * 100).toFixed(2)}%`
}

/** Small and large errors in scientific notation, the rest with four significant digits. */
export function formatError(value: number): string {
  if (value === 0) return '0'
  return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e4 ? String(Number(value.toPrecision(4))) : value.toExponential(2)
}

function shortNumber(value: number): string {
  return value === 0 ? '0' : value.toExponential(0).replace('e+', 'e')
}

export function sizeRows(result: EvaluationResult): Array<{ model: string; sizeKiB: number }> {
  return [
    { model: 'baseline', sizeKiB: result.baseline.sizeBytes / 1024 },
    { model: 'candidate', sizeKiB: result.candidate.sizeBytes / 1024 },
  ]
}

export function latencyQuantileRows(result: EvaluationResult): Array<{ model: string; p50Ms: number; p95Ms: number }> {
  return [
    { model: 'baseline', p50Ms: result.baseline.latency.p50Ms, p95Ms: result.baseline.latency.p95Ms },
    { model: 'candidate', p50Ms: result.candidate.latency.p50Ms, p95Ms: result.candidate.latency.p95Ms },
  ]
}

/**
 * Both models' timed runs binned on one linear scale, so their distributions can be read side by side. Returns no
 * rows without samples; identical samples give one bin.
 */
export function latencyDistributionRows(
  baselineMs: readonly number[],
  candidateMs: readonly number[],
  binCount = 12,
): Array<{ label: string; baseline: number; candidate: number }> {
  const all = [...baselineMs, ...candidateMs]
  if (all.length === 0) return []
  const low = Math.min(...all)
  const high = Math.max(...all)
  const bins = high > low ? Math.max(1, Math.floor(binCount)) : 1
  const width = high > low ? (high - low) / bins : 1
  const rows = Array.from({ length: bins }, (_, index) => ({
    label: bins === 1 ? `${low.toFixed(3)} ms` : `${(low + index * width).toFixed(3)}–${(low + (index + 1) * width).toFixed(3)} ms`,
    baseline: 0,
    candidate: 0,
  }))
  const binOf = (value: number) => Math.min(bins - 1, Math.floor((value - low) / width))
  for (const value of baselineMs) {
    const row = rows[binOf(value)]
    if (row) row.baseline += 1
  }
  for (const value of candidateMs) {
    const row = rows[binOf(value)]
    if (row) row.candidate += 1
  }
  return rows
}

/** The absolute-error histogram of one output, labelled by bin bounds (log-spaced by the evaluation). */
export function errorHistogramRows(bins: readonly ErrorHistogramBin[]): Array<{ label: string; count: number }> {
  return bins.map((bin) => ({
    label: bin.upperBound === null ? `≥${shortNumber(bin.lowerBound)}` : bin.lowerBound === 0 ? `<${shortNumber(bin.upperBound)}` : `${shortNumber(bin.lowerBound)}–${shortNumber(bin.upperBound)}`,
    count: bin.count,
  }))
}

/** Operator counts over every graph of the model, most frequent first. */
export function operatorTotals(inspection: ModelInspection, limit: number): Array<{ opType: string; count: number }> {
  const totals = new Map<string, number>()
  for (const op of inspection.opHistogram) {
    const key = op.domain === '' || op.domain === 'tflite' ? op.opType : `${op.domain}.${op.opType}`
    totals.set(key, (totals.get(key) ?? 0) + op.count)
  }
  return [...totals]
    .map(([opType, count]) => ({ opType, count }))
    .sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType))
    .slice(0, limit)
}

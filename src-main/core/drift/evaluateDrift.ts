/**
 * Distances and verdicts for flat count vectors (driftLayout.ts), sample-size aware (anchors-mission.md §4 #9, §6):
 * a feature gets a verdict only with at least `minSamples` live samples; a row (device or cohort) drifts when at
 * least `deviceDriftShare` of its evaluated features drift. Predictions are reported but never count towards the
 * row's share: a prediction shift is a consequence to show, the inputs are what drifted. Pure.
 */
import type { DriftCell, DriftMetric, DriftRow, DriftScores, DriftSettings, DriftVerdict } from '../../../src-shared/domain/drift.ts'
import type { DriftLayout, LayoutEntry } from './driftLayout.ts'
import { PSI_EPSILON, wassersteinAtCentres } from './metrics.ts'

function liveTotal(entry: LayoutEntry, live: ArrayLike<number>, offset: number): number {
  let sum = 0
  for (let i = 0; i < entry.binCount; i++) sum += live[offset + i] as number
  return sum
}

function psiAt(entry: LayoutEntry, live: ArrayLike<number>, offset: number, n: number): number {
  let psi = 0
  const smoothed = entry.referenceSmoothed
  const smoothedLog = entry.referenceSmoothedLog
  for (let i = 0; i < entry.binCount; i++) {
    const l = (live[offset + i] as number) / n || PSI_EPSILON
    psi += (l - (smoothed[i] as number)) * (Math.log(l) - (smoothedLog[i] as number))
  }
  return psi
}

function jensenShannonAt(entry: LayoutEntry, live: ArrayLike<number>, offset: number, n: number): number {
  let divergence = 0
  for (let i = 0; i < entry.binCount; i++) {
    const r = entry.referenceShares[i] as number
    const l = (live[offset + i] as number) / n
    const m = (r + l) / 2
    if (r > 0) divergence += r * Math.log(r / m)
    if (l > 0) divergence += l * Math.log(l / m)
  }
  return Math.sqrt(Math.max(0, divergence / 2))
}

/** The entry's live sample count at `offset` in `live`. */
export function entryTotal(entry: LayoutEntry, live: ArrayLike<number>, offset = entry.offset): number {
  return liveTotal(entry, live, offset)
}

/** One distance, given the entry's live total `n` (> 0). */
function scoreWithTotal(entry: LayoutEntry, metric: DriftMetric, live: ArrayLike<number>, offset: number, n: number): number {
  switch (metric) {
    case 'psi':
      return psiAt(entry, live, offset, n)
    case 'jensenShannon':
      return jensenShannonAt(entry, live, offset, n)
    case 'wasserstein':
      return wassersteinAtCentres(entry.centres, entry.span, entry.referenceCounts, live, offset)
  }
}

/** One distance of the entry's live counts at `offset` (relative to the entry) in `live`; NaN when n is 0. */
export function scoreEntry(entry: LayoutEntry, metric: DriftMetric, live: ArrayLike<number>, offset = entry.offset): { score: number; n: number } {
  const n = liveTotal(entry, live, offset)
  if (n === 0 || entry.referenceTotal === 0) return { score: Number.NaN, n }
  return { score: scoreWithTotal(entry, metric, live, offset, n), n }
}

/** All three distances (for the overlay and the CLI); null when nothing was counted. */
export function scoreAllMetrics(entry: LayoutEntry, live: ArrayLike<number>, offset = entry.offset): DriftScores | null {
  const psi = scoreEntry(entry, 'psi', live, offset)
  if (psi.n === 0 || entry.referenceTotal === 0) return null
  return {
    psi: psi.score,
    jensenShannon: scoreEntry(entry, 'jensenShannon', live, offset).score,
    wasserstein: scoreEntry(entry, 'wasserstein', live, offset).score,
  }
}

export function verdictOf(score: number, n: number, settings: Pick<DriftSettings, 'threshold' | 'minSamples'>): DriftVerdict {
  if (n < settings.minSamples || Number.isNaN(score)) return 'insufficient'
  return score >= settings.threshold ? 'drift' : 'stable'
}

export function evaluateEntry(entry: LayoutEntry, live: ArrayLike<number>, settings: DriftSettings, offset = entry.offset): DriftCell {
  const { score, n } = scoreEntry(entry, settings.metric, live, offset)
  return { feature: entry.name, score: Number.isNaN(score) ? null : score, sampleCount: n, verdict: verdictOf(score, n, settings) }
}

/** A row's share and verdict from its feature cells. */
export function summarizeCells(cells: readonly DriftCell[], settings: Pick<DriftSettings, 'deviceDriftShare'>): { driftShare: number | null; verdict: DriftVerdict } {
  let evaluated = 0
  let drifting = 0
  for (const cell of cells) {
    if (cell.verdict === 'insufficient') continue
    evaluated += 1
    if (cell.verdict === 'drift') drifting += 1
  }
  if (evaluated === 0) return { driftShare: null, verdict: 'insufficient' }
  const driftShare = drifting / evaluated
  return { driftShare, verdict: driftShare >= settings.deviceDriftShare ? 'drift' : 'stable' }
}

/** A heatmap row from a flat vector of live counts (offsets as in `layout`). */
export function evaluateRow(layout: DriftLayout, key: string, deviceCount: number, live: ArrayLike<number>, settings: DriftSettings): DriftRow {
  const cells = layout.features.map((entry) => evaluateEntry(entry, live, settings))
  const prediction = layout.prediction ? evaluateEntry(layout.prediction, live, settings) : null
  return { key, deviceCount, cells, prediction, ...summarizeCells(cells, settings) }
}

const verdictRank: Record<DriftVerdict, number> = { drift: 2, stable: 1, insufficient: 0 }

/** What ranking a row needs, without building its cells: for heatmaps over thousands of rows. */
export interface RowSummary {
  key: string
  verdict: DriftVerdict
  driftShare: number | null
  /** Largest feature distance (-1 when none). */
  maxScore: number
}

/**
 * A row's verdict, share and largest distance straight from its counts (the same numbers evaluateRow gives),
 * adding 1 to `driftingPerFeature[i]` for each drifting feature i.
 */
export function summarizeRow(layout: DriftLayout, key: string, live: ArrayLike<number>, settings: DriftSettings, driftingPerFeature: Uint32Array): RowSummary {
  // The hot loop of a 10,000-device heatmap: plain loops, no allocation per feature.
  let evaluated = 0
  let drifting = 0
  let maxScore = -1
  const features = layout.features
  for (let index = 0; index < features.length; index++) {
    const entry = features[index] as LayoutEntry
    const n = liveTotal(entry, live, entry.offset)
    if (n === 0 || entry.referenceTotal === 0) continue
    const score = settings.metric === 'psi' ? psiAt(entry, live, entry.offset, n) : scoreWithTotal(entry, settings.metric, live, entry.offset, n)
    if (score > maxScore) maxScore = score
    if (n < settings.minSamples || Number.isNaN(score)) continue
    evaluated += 1
    if (score >= settings.threshold) {
      drifting += 1
      driftingPerFeature[index] = (driftingPerFeature[index] ?? 0) + 1
    }
  }
  if (evaluated === 0) return { key, verdict: 'insufficient', driftShare: null, maxScore }
  const driftShare = drifting / evaluated
  return { key, verdict: driftShare >= settings.deviceDriftShare ? 'drift' : 'stable', driftShare, maxScore }
}

/** Heatmap order: drifting rows first, then by drift share, then by the largest feature score, then by key. */
export function compareRowSummaries(left: RowSummary, right: RowSummary): number {
  const byVerdict = verdictRank[right.verdict] - verdictRank[left.verdict]
  if (byVerdict !== 0) return byVerdict
  const byShare = (right.driftShare ?? -1) - (left.driftShare ?? -1)
  if (byShare !== 0) return byShare
  const byScore = right.maxScore - left.maxScore
  if (byScore !== 0) return byScore
  return left.key < right.key ? -1 : left.key > right.key ? 1 : 0
}

/** The same order for full rows. */
export function compareRowsByDrift(left: DriftRow, right: DriftRow): number {
  const maxScore = (row: DriftRow) => row.cells.reduce((max, cell) => Math.max(max, cell.score ?? -1), -1)
  return compareRowSummaries({ ...left, maxScore: maxScore(left) }, { ...right, maxScore: maxScore(right) })
}

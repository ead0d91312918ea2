/**
 * A reference laid out as one flat count vector: every feature's bins in reference order, then the prediction
 * bins. Rollups store and add these vectors (Uint32 little-endian), so one blob per device and bucket holds all
 * features, and a distance is computed straight from an offset into it. Pure.
 */
import type { DriftBinnedFeature, DriftReference } from '../../../src-shared/domain/drift.ts'
import { binCentres, PSI_EPSILON } from './metrics.ts'

export interface LayoutEntry {
  name: string
  feature: DriftBinnedFeature
  /** Index of the entry's first bin in the flat vector. */
  offset: number
  binCount: number
  referenceCounts: Float64Array
  referenceTotal: number
  /** Reference shares with PSI_EPSILON for empty bins, and their natural logs, computed once. */
  referenceSmoothed: Float64Array
  referenceSmoothedLog: Float64Array
  referenceShares: Float64Array
  centres: Float64Array
  span: number
}

export interface DriftLayout {
  reference: DriftReference
  binsSha256: string
  features: LayoutEntry[]
  prediction: LayoutEntry | null
  /** Length of the flat vector. */
  length: number
}

function layoutEntry(feature: DriftBinnedFeature, offset: number): LayoutEntry {
  const binCount = feature.bin_edges.length + 1
  const referenceCounts = Float64Array.from(feature.reference_counts)
  const referenceTotal = referenceCounts.reduce((sum, count) => sum + count, 0)
  const referenceShares = referenceCounts.map((count) => (referenceTotal === 0 ? 0 : count / referenceTotal))
  const referenceSmoothed = referenceShares.map((share) => share || PSI_EPSILON)
  const { centres, span } = binCentres(feature.bin_edges)
  return {
    name: feature.name,
    feature,
    offset,
    binCount,
    referenceCounts,
    referenceTotal,
    referenceShares,
    referenceSmoothed,
    referenceSmoothedLog: referenceSmoothed.map(Math.log),
    centres,
    span,
  }
}

export function createDriftLayout(reference: DriftReference, binsSha256: string): DriftLayout {
  let offset = 0
  const features = reference.features.map((feature) => {
    const entry = layoutEntry(feature, offset)
    offset += entry.binCount
    return entry
  })
  const prediction = reference.predictions ? layoutEntry(reference.predictions, offset) : null
  if (prediction) offset += prediction.binCount
  return { reference, binsSha256, features, prediction, length: offset }
}

/**
 * A window's featureCounts/predictionCounts as one flat vector. A feature the window lacks counts zero (the agent
 * could not read it); a count array of the wrong length makes the whole window unusable (undefined), since its
 * bins cannot be the signed ones. Names the reference does not know are ignored.
 */
export function packDriftCounts(
  layout: DriftLayout,
  featureCounts: Readonly<Record<string, readonly number[]>> | undefined,
  predictionCounts: readonly number[] | undefined,
): Uint32Array | undefined {
  const packed = new Uint32Array(layout.length)
  for (const entry of layout.features) {
    const counts = featureCounts?.[entry.name]
    if (counts === undefined) continue
    if (counts.length !== entry.binCount) return undefined
    for (let i = 0; i < counts.length; i++) packed[entry.offset + i] = counts[i] as number
  }
  if (layout.prediction && predictionCounts !== undefined) {
    if (predictionCounts.length !== layout.prediction.binCount) return undefined
    for (let i = 0; i < predictionCounts.length; i++) packed[layout.prediction.offset + i] = predictionCounts[i] as number
  }
  return packed
}

/** The counts of one entry out of a flat vector, as plain numbers. */
export function entryCounts(entry: LayoutEntry, flat: ArrayLike<number>): number[] {
  return Array.from({ length: entry.binCount }, (_, i) => flat[entry.offset + i] as number)
}

/**
 * Reference bins computed at packaging time from a calibration or validation set (issue 7 §1): quantile edges per
 * feature and for the predictions, and the reference counts in exactly those bins. The result is the manifest's
 * `drift` object (DriftReference) that the release signs and devices count into. Pure.
 */
import type { DriftBinnedFeature, DriftFeatureSource, DriftReference } from '../../../src-shared/domain/drift.ts'
import { countIntoBins, featureValues, type BatchTensor } from '../../../src-shared/domain/driftBinning.ts'
import { AppError } from '../../../src-shared/errors.ts'

export const DEFAULT_BIN_COUNT = 10
export const MIN_BIN_COUNT = 2
export const MAX_BIN_COUNT = 64
/** Edges are rounded to this many significant digits: a compact manifest, and counting uses the rounded edges. */
const EDGE_SIGNIFICANT_DIGITS = 7

/** The q-quantile (0..1) of ascending `sorted` values, interpolated linearly (numpy.quantile's default method). */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const position = q * (sorted.length - 1)
  const low = Math.floor(position)
  const high = Math.ceil(position)
  const lowValue = sorted[low] as number
  return lowValue + ((sorted[high] as number) - lowValue) * (position - low)
}

/**
 * Inner edges at the k/binCount quantiles (k = 1..binCount-1) of the finite values, rounded, with repeats dropped so
 * they increase strictly: a feature with heavy ties gets fewer bins, a constant one a single edge (two bins). The
 * outer bins are open, so live values beyond the calibration range still land somewhere.
 */
export function quantileEdges(values: Iterable<number>, binCount = DEFAULT_BIN_COUNT): number[] {
  if (!Number.isInteger(binCount) || binCount < MIN_BIN_COUNT || binCount > MAX_BIN_COUNT) {
    throw new AppError('invalid-input', `A feature needs ${MIN_BIN_COUNT} to ${MAX_BIN_COUNT} bins, not ${binCount}`, { binCount })
  }
  const sorted = Float64Array.from([...values].filter(Number.isFinite)).sort()
  if (sorted.length === 0) throw new AppError('invalid-input', 'A feature has no finite values in the calibration set, so it cannot be binned')
  const edges: number[] = []
  for (let k = 1; k < binCount; k++) {
    const edge = Number(quantileOfSorted(sorted, k / binCount).toPrecision(EDGE_SIGNIFICANT_DIGITS))
    if (edges.length === 0 || edge > (edges[edges.length - 1] as number)) edges.push(edge)
  }
  return edges
}

/** Edges k + 0.5 for class indices 0..classCount-1: one bin per class (argmax predictions). */
export function classEdges(classCount: number): number[] {
  if (!Number.isInteger(classCount) || classCount < 2 || classCount > 257) {
    throw new AppError('invalid-input', `Class predictions need 2 to 257 classes, not ${classCount}`, { classCount })
  }
  return Array.from({ length: classCount - 1 }, (_, k) => k + 0.5)
}

export interface FeatureBinSpec {
  name: string
  source?: DriftFeatureSource
  /** Quantile bins (default 10); ignored when `edges` is given. */
  binCount?: number
  /** Fixed edges instead of quantiles (e.g. classEdges for argmax predictions). */
  edges?: number[]
}

/** One binned feature from its calibration values. */
export function binFeature(spec: FeatureBinSpec, values: readonly number[]): DriftBinnedFeature {
  const edges = spec.edges ?? quantileEdges(values, spec.binCount ?? DEFAULT_BIN_COUNT)
  const feature: DriftBinnedFeature = { name: spec.name, bin_edges: edges, reference_counts: countIntoBins(edges, values) }
  return spec.source ? { ...feature, source: spec.source } : feature
}

export interface ReferenceSpec {
  features: FeatureBinSpec[]
  predictions?: FeatureBinSpec
}

export interface CalibrationBatch {
  inputs: Readonly<Record<string, BatchTensor>>
  outputs: Readonly<Record<string, BatchTensor>>
}

/**
 * The reference for a model from calibration batches: every feature's values are read with its `source` (as the
 * device will read them) and binned. An argmax prediction spec without edges gets one bin per output class.
 * Throws AppError 'invalid-input' when a source cannot be read from the batches.
 */
export function buildDriftReference(spec: ReferenceSpec, batches: readonly CalibrationBatch[]): DriftReference {
  const valuesOf = (feature: FeatureBinSpec): number[] => {
    const source = feature.source
    if (!source) throw new AppError('invalid-input', `Feature '${feature.name}' has no source to read calibration values from`)
    const values: number[] = []
    for (const batch of batches) {
      const batchValues = featureValues(source, batch.inputs, batch.outputs)
      if (batchValues === undefined) {
        throw new AppError('invalid-input', `Feature '${feature.name}' cannot be read from the calibration batches (${JSON.stringify(source)})`)
      }
      for (const value of batchValues) values.push(value)
    }
    return values
  }
  const features = spec.features.map((feature) => binFeature(feature, valuesOf(feature)))
  if (!spec.predictions) return { features }
  const predictionSpec = spec.predictions
  const predictionValues = valuesOf(predictionSpec)
  let edges = predictionSpec.edges
  if (edges === undefined && predictionSpec.source?.kind === 'argmax') {
    const output = batches[0]?.outputs[predictionSpec.source.output]
    const classCount = output ? (output.dims[output.dims.length - 1] ?? 0) : 0
    edges = classEdges(classCount)
  }
  return { features, predictions: binFeature(edges === undefined ? predictionSpec : { ...predictionSpec, edges }, predictionValues) }
}

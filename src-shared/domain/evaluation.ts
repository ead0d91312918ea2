import { z } from 'zod'

/**
 * The result of evaluating a candidate model (quantized, fp16, ...) against its baseline on the same inputs: what
 * `outpost model evaluate --json` prints, what the comparison page charts and what the release gate reads.
 * Ratios are candidate / baseline; fractions are in [0, 1]; errors are absolute, in the output's own units.
 */

export const LatencySummary = z.object({
  runs: z.number().int().nonnegative(),
  p50Ms: z.number().nonnegative(),
  p95Ms: z.number().nonnegative(),
  meanMs: z.number().nonnegative(),
  minMs: z.number().nonnegative(),
  maxMs: z.number().nonnegative(),
  /** Every timed run, for the latency distribution chart (capped). */
  samplesMs: z.array(z.number().nonnegative()).max(10_000),
})
export type LatencySummary = z.infer<typeof LatencySummary>

export const ModelMeasurement = z.object({
  sizeBytes: z.number().int().nonnegative(),
  latency: LatencySummary,
})
export type ModelMeasurement = z.infer<typeof ModelMeasurement>

/** One bin of the absolute-error histogram; the last bin's upper bound is null (unbounded). */
export const ErrorHistogramBin = z.object({
  lowerBound: z.number().nonnegative(),
  upperBound: z.number().nonnegative().nullable(),
  count: z.number().int().nonnegative(),
})
export type ErrorHistogramBin = z.infer<typeof ErrorHistogramBin>

/**
 * How outputs are turned into decisions for agreement: 'argmax' over the last axis for classifiers (last dimension
 * >= 2), 'threshold' at 0.5 for single-probability outputs (last dimension 1), 'none' otherwise.
 */
export const DecisionKind = z.enum(['argmax', 'threshold', 'none'])
export type DecisionKind = z.infer<typeof DecisionKind>

export const OutputComparison = z.object({
  name: z.string().max(256),
  elementCount: z.number().int().nonnegative(),
  /** Elements where either model produced NaN or ±Infinity; they are left out of the error and cosine figures. */
  nonFiniteCount: z.number().int().nonnegative(),
  maxAbsError: z.number().nonnegative(),
  meanAbsError: z.number().nonnegative(),
  /** Cosine similarity of the whole output (all rows concatenated); 1 when both are all zeros. */
  cosineSimilarity: z.number().min(-1).max(1),
  /** Mean and minimum of the per-row cosine similarity (row = index along the first axis). */
  meanRowCosine: z.number().min(-1).max(1),
  minRowCosine: z.number().min(-1).max(1),
  baselineMin: z.number(),
  baselineMax: z.number(),
  decisionKind: DecisionKind,
  /** Fraction of decisions (rows) on which candidate and baseline agree; null when decisionKind is 'none'. */
  agreement: z.number().min(0).max(1).nullable(),
  decisionCount: z.number().int().nonnegative(),
  errorHistogram: z.array(ErrorHistogramBin).max(64),
})
export type OutputComparison = z.infer<typeof OutputComparison>

export const AccuracyComparison = z.object({
  /** The output whose decisions were compared with the labels. */
  outputName: z.string().max(256),
  labelCount: z.number().int().nonnegative(),
  baseline: z.number().min(0).max(1),
  candidate: z.number().min(0).max(1),
  /** baseline - candidate; positive means the candidate is worse. */
  drop: z.number().min(-1).max(1),
})
export type AccuracyComparison = z.infer<typeof AccuracyComparison>

export const EvaluationResult = z.object({
  sampleCount: z.number().int().nonnegative(),
  baseline: ModelMeasurement,
  candidate: ModelMeasurement,
  sizeRatio: z.number().nonnegative(),
  latencyP50Ratio: z.number().nonnegative(),
  outputs: z.array(OutputComparison).max(256),
  /** Agreement of the primary decision output (the first with a decision kind), null when there is none. */
  top1Agreement: z.number().min(0).max(1).nullable(),
  accuracy: AccuracyComparison.nullable(),
})
export type EvaluationResult = z.infer<typeof EvaluationResult>

/** The engineer's release thresholds: fractions, e.g. minAgreement 0.99 and maxAccuracyDrop 0.01 (one point). */
export const ReleaseGate = z.object({
  minAgreement: z.number().min(0).max(1).optional(),
  maxAccuracyDrop: z.number().min(0).max(1).optional(),
})
export type ReleaseGate = z.infer<typeof ReleaseGate>

/** A domain outcome, not an error: a candidate that fails the gate is a value with the reasons. */
export const ReleaseReadiness = z.object({
  isReleaseReady: z.boolean(),
  reasons: z.array(z.string().max(512)).max(32),
})
export type ReleaseReadiness = z.infer<typeof ReleaseReadiness>

/** Progress of a long calibration or evaluation, for the UI's progress bar. */
export const PackagingProgress = z.object({
  phase: z.enum(['calibration-range', 'calibration-histogram', 'evaluation', 'latency']),
  completed: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
})
export type PackagingProgress = z.infer<typeof PackagingProgress>

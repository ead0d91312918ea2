import { z } from 'zod'
import { EvaluationResult, ReleaseGate, ReleaseReadiness } from '../domain/evaluation.ts'
import { Instant, ModelId, Sha256Hex } from '../domain/ids.ts'
import { ModelSummary } from '../domain/model.ts'
import { ModelInspection } from '../domain/modelInspection.ts'
import type { EventTable, MethodTable } from '../rpc/types.ts'

/**
 * Model packaging on models stored in the control center: inspect, optimize with a recipe (the result is imported
 * as a derived model with a model card), evaluate a candidate against a baseline, read a model's card. The
 * `outpost model ...` CLI does the same on local files without a control center.
 */

export const OPTIMIZATION_RECIPES = ['graph', 'fp16', 'int8-dynamic', 'int8-static'] as const
export const OptimizationRecipe = z.enum(OPTIMIZATION_RECIPES)
export type OptimizationRecipe = z.infer<typeof OptimizationRecipe>

export const CALIBRATION_METHODS = ['minmax', 'percentile', 'entropy'] as const
export const CalibrationMethodName = z.enum(CALIBRATION_METHODS)
export type CalibrationMethodName = z.infer<typeof CalibrationMethodName>

/** Largest calibration or evaluation input file accepted through one RPC call (base64 inside the message). */
export const MAX_ARRAY_UPLOAD_BYTES = 64 * 1024 * 1024
const ArrayUploadBase64 = z.string().min(1).max(Math.ceil(MAX_ARRAY_UPLOAD_BYTES / 3) * 4)

/** Random inputs generated from the model's input shapes (normal(0, 1) floats, small integers), reproducible by seed. */
export const SyntheticInputs = z.object({
  count: z.number().int().min(1).max(10_000),
  seed: z.number().int().min(0).max(2 ** 32 - 1),
})
export type SyntheticInputs = z.infer<typeof SyntheticInputs>

/** A client-chosen id that tags the call's `packaging.progressed` events, so a progress bar can follow them. */
export const OperationId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an operation id is 1-64 letters, digits, dashes or underscores')
export type OperationId = z.infer<typeof OperationId>

/** One array of a calibration or input set, as recorded in a model card. */
export const ArrayDescription = z.object({
  name: z.string().max(256),
  dtype: z.string().max(16),
  shape: z.array(z.number().int().nonnegative()).max(16),
})
export type ArrayDescription = z.infer<typeof ArrayDescription>

export const CalibrationSummary = z.object({
  /** sha256 of the file; for a directory, of its sorted `name sha256` lines; for synthetic data, of its .npy encodings. */
  sha256: Sha256Hex,
  source: z.enum(['file', 'directory', 'upload', 'synthetic']),
  /** File or directory name (no folders), or 'synthetic'. */
  name: z.string().max(256),
  sampleCount: z.number().int().nonnegative(),
  arrays: z.array(ArrayDescription).max(256),
  /** The seed of synthetic data; null otherwise. */
  seed: z.number().int().nullable(),
})
export type CalibrationSummary = z.infer<typeof CalibrationSummary>

export const QuantizedNodeEntry = z.object({
  node: z.string().max(512),
  opType: z.string().max(128),
  graphPath: z.string().max(1024),
  emitted: z.string().max(128),
  perChannel: z.boolean(),
})
export type QuantizedNodeEntry = z.infer<typeof QuantizedNodeEntry>

export const SkippedNodeEntry = z.object({
  node: z.string().max(512),
  opType: z.string().max(128),
  graphPath: z.string().max(1024),
  reason: z.string().max(1024),
})
export type SkippedNodeEntry = z.infer<typeof SkippedNodeEntry>

/** Node lists in a card are capped; `truncated` says when some were left out (the counts stay exact). */
export const MAX_CARD_NODE_ENTRIES = 2000

/** What a recipe did. `summary` holds the recipe's own counters (flat, for a key/value table). */
export const RecipeReport = z.object({
  recipe: OptimizationRecipe,
  summary: z.record(z.string().max(64), z.union([z.number(), z.string().max(512), z.boolean(), z.null(), z.array(z.string().max(256)).max(256)])),
  quantizedNodeCount: z.number().int().nonnegative(),
  quantizedNodes: z.array(QuantizedNodeEntry).max(MAX_CARD_NODE_ENTRIES),
  skippedNodeCount: z.number().int().nonnegative(),
  skippedNodes: z.array(SkippedNodeEntry).max(MAX_CARD_NODE_ENTRIES),
  truncated: z.boolean(),
})
export type RecipeReport = z.infer<typeof RecipeReport>

/**
 * The release verdict recorded in a card by `outpost model evaluate --update-card` or `models.evaluate`: the gate
 * the release step reads. Metrics are null where they could not be measured.
 */
export const CardEvaluation = z.object({
  evaluatedAt: Instant,
  baselineSha256: Sha256Hex,
  inputsSha256: Sha256Hex,
  gate: ReleaseGate,
  isReleaseReady: z.boolean(),
  reasons: z.array(z.string().max(512)).max(32),
  metrics: z.object({
    sampleCount: z.number().int().nonnegative(),
    top1Agreement: z.number().min(0).max(1).nullable(),
    accuracyBaseline: z.number().min(0).max(1).nullable(),
    accuracyCandidate: z.number().min(0).max(1).nullable(),
    accuracyDrop: z.number().min(-1).max(1).nullable(),
    sizeRatio: z.number().nonnegative(),
    latencyP50Ratio: z.number().nonnegative(),
    maxAbsError: z.number().nonnegative().nullable(),
  }),
})
export type CardEvaluation = z.infer<typeof CardEvaluation>

/**
 * The lineage of a packaged model (`OUT.card.json` beside a CLI output, `<dataDir>/models/<sha256>.card.json` in the
 * control center): where it came from, how it was made, with what data, by which tool, and what it measured.
 */
export const ModelCard = z.object({
  cardVersion: z.literal(1),
  createdAt: Instant,
  tool: z.object({ name: z.literal('outpost'), version: z.string().max(64) }),
  source: z.object({
    sha256: Sha256Hex,
    fileName: z.string().max(256),
    sizeBytes: z.number().int().nonnegative(),
    /** The control center model it was made from; null for the CLI. */
    modelId: ModelId.nullable(),
    name: z.string().max(128).nullable(),
    version: z.string().max(64).nullable(),
  }),
  output: z.object({ sha256: Sha256Hex, fileName: z.string().max(256), sizeBytes: z.number().int().nonnegative() }),
  recipe: OptimizationRecipe,
  options: z.object({
    /** Calibration method (int8-static); null for the other recipes. */
    method: CalibrationMethodName.nullable(),
    perChannel: z.boolean(),
    /** onnxruntime graph optimization level (graph recipe); null otherwise. */
    graphLevel: z.enum(['basic', 'extended']).nullable(),
  }),
  calibration: CalibrationSummary.nullable(),
  metrics: z.object({
    sourceSizeBytes: z.number().int().nonnegative(),
    outputSizeBytes: z.number().int().nonnegative(),
    /** output / source. */
    sizeRatio: z.number().nonnegative(),
    sourceNodeCount: z.number().int().nonnegative(),
    outputNodeCount: z.number().int().nonnegative(),
    durationMs: z.number().nonnegative(),
  }),
  report: RecipeReport,
  /** Null until the model is evaluated against a baseline with the card updated. */
  evaluation: CardEvaluation.nullable(),
})
export type ModelCard = z.infer<typeof ModelCard>

export const OptimizeRequest = z.object({
  modelId: ModelId,
  recipe: OptimizationRecipe,
  /** int8-static only; default minmax. */
  method: CalibrationMethodName.optional(),
  /** int8-dynamic and int8-static: per-channel weights. */
  perChannel: z.boolean().optional(),
  /** int8-static: a .npz (or .npy) calibration set read by the UI. Exactly one calibration source. */
  calibrationUploadBase64: ArrayUploadBase64.optional(),
  calibrationFileName: z.string().min(1).max(256).optional(),
  /** int8-static: synthetic calibration inputs from the model's input shapes. */
  calibrationFromModelInputs: SyntheticInputs.optional(),
  operationId: OperationId.optional(),
})
export type OptimizeRequest = z.infer<typeof OptimizeRequest>

export const OptimizeResult = z.object({
  operationId: OperationId,
  /** The derived model, imported like any other (listed, deployable). */
  model: ModelSummary,
  card: ModelCard,
})
export type OptimizeResult = z.infer<typeof OptimizeResult>

export const EvaluateRequest = z.object({
  baselineId: ModelId,
  candidateId: ModelId,
  /** A .npz (or .npy) of inputs read by the UI; or `synthetic`. Exactly one. */
  inputsBase64: ArrayUploadBase64.optional(),
  inputsFileName: z.string().min(1).max(256).optional(),
  synthetic: SyntheticInputs.optional(),
  /** A .npy (or one-array .npz) of integer labels, one per input row; enables the accuracy figures. */
  labelsBase64: ArrayUploadBase64.optional(),
  /** Timed latency runs per model (default 20). */
  runs: z.number().int().min(1).max(1000).optional(),
  minAgreement: z.number().min(0).max(1).optional(),
  maxAccuracyDrop: z.number().min(0).max(1).optional(),
  operationId: OperationId.optional(),
})
export type EvaluateRequest = z.infer<typeof EvaluateRequest>

/** A completed evaluation with its verdict; the latest one per candidate is kept (`models.card` returns it). */
export const ModelEvaluation = z.object({
  operationId: OperationId,
  baselineId: ModelId,
  candidateId: ModelId,
  baselineSha256: Sha256Hex,
  candidateSha256: Sha256Hex,
  evaluatedAt: Instant,
  inputs: CalibrationSummary,
  gate: ReleaseGate,
  result: EvaluationResult,
  readiness: ReleaseReadiness,
})
export type ModelEvaluation = z.infer<typeof ModelEvaluation>

export const ModelCardView = z.object({
  modelId: ModelId,
  /** Null for a model imported as is rather than made by a recipe. */
  card: ModelCard.nullable(),
  lastEvaluation: ModelEvaluation.nullable(),
})
export type ModelCardView = z.infer<typeof ModelCardView>

export const PackagingPhase = z.enum([
  'loading',
  'calibration-range',
  'calibration-histogram',
  'transforming',
  'verifying',
  'storing',
  'evaluation',
  'latency',
  'done',
])
export type PackagingPhase = z.infer<typeof PackagingPhase>

/** Progress of a long optimize or evaluate call; `fraction` is of the whole operation and never goes back. */
export const PackagingProgressed = z.object({
  operationId: OperationId,
  operation: z.enum(['optimize', 'evaluate']),
  modelId: ModelId,
  phase: PackagingPhase,
  fraction: z.number().min(0).max(1),
})
export type PackagingProgressed = z.infer<typeof PackagingProgressed>

/** Requests about packaging models stored in the control center. */
export const packagingMethods = {
  /** The model's structure, read without running it. Throws `not-found`, `model-invalid`. */
  'models.inspect': { input: z.object({ modelId: ModelId }), output: ModelInspection },
  /**
   * Runs a recipe on a stored model and imports the result as a derived model (name suffixed with the recipe,
   * lineage card stored). Pushes `packaging.progressed`. Throws `not-found`, `invalid-input` (calibration missing,
   * for the wrong recipe, or not matching the model's inputs), `model-unsupported`, `model-load-failed`.
   */
  'models.optimize': { input: OptimizeRequest, output: OptimizeResult },
  /**
   * Runs baseline and candidate on the same inputs: sizes, latency, per-output errors, agreement, accuracy with
   * labels, and the release verdict against the thresholds (not release-ready is a value, not an error). Pushes
   * `packaging.progressed`. Throws `not-found`, `invalid-input`, `model-load-failed`, `inference-failed`.
   */
  'models.evaluate': { input: EvaluateRequest, output: ModelEvaluation },
  /** The model's card and latest evaluation as candidate. Throws `not-found`. */
  'models.card': { input: z.object({ modelId: ModelId }), output: ModelCardView },
} as const satisfies MethodTable

export const packagingEvents = {
  'packaging.progressed': PackagingProgressed,
} as const satisfies EventTable

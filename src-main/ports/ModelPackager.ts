import type {
  CalibrationMethodName,
  CalibrationSummary,
  ModelCard,
  OptimizationRecipe,
  PackagingPhase,
  SyntheticInputs,
} from '../../src-shared/contract/packagingContract.ts'
import type { EvaluationResult } from '../../src-shared/domain/evaluation.ts'
import type { ModelInspection } from '../../src-shared/domain/modelInspection.ts'

/** Arrays to run a model on: an uploaded .npy/.npz file, or synthetic inputs from the model's input shapes. */
export type ArraySource = { kind: 'upload'; bytes: Uint8Array; fileName: string } | { kind: 'synthetic'; synthetic: SyntheticInputs }

/** Progress of one operation: `fraction` is of the whole operation, 0..1. */
export type PackagerProgressListener = (progress: { phase: PackagingPhase; fraction: number }) => void

export interface PackagerOptimizeRequest {
  recipe: OptimizationRecipe
  method?: CalibrationMethodName | undefined
  perChannel?: boolean | undefined
  /** int8-static only. */
  calibration?: ArraySource | undefined
  /** Lineage facts of the source the card records. */
  source: ModelCard['source']
  outputFileName: string
  toolVersion: string
  /** ISO instant the card is dated. */
  createdAt: string
  onProgress?: PackagerProgressListener | undefined
}

export interface PackagerEvaluateRequest {
  inputs: ArraySource
  /** A .npy (or one-array .npz) of labels, one per decision of the primary output. */
  labels?: { bytes: Uint8Array; fileName: string } | undefined
  /** Timed latency runs per model. */
  timedRuns?: number | undefined
  onProgress?: PackagerProgressListener | undefined
}

/** Inspects, optimizes and evaluates model bytes (ONNX; TFLite for inspection). Never touches the model store. */
export interface ModelPackager {
  /** Throws 'model-invalid'. */
  inspect(bytes: Uint8Array, fileName: string): Promise<ModelInspection>
  /**
   * Runs a recipe and checks the result loads in onnxruntime; returns its bytes and card (evaluation null).
   * Throws 'invalid-input' (options, calibration not matching the inputs), 'model-invalid', 'model-unsupported',
   * 'model-load-failed', 'inference-failed'.
   */
  optimize(bytes: Uint8Array, request: PackagerOptimizeRequest): Promise<{ bytes: Uint8Array; card: ModelCard }>
  /**
   * Runs both models on the same inputs. Throws 'invalid-input' (inputs or labels not matching), 'model-load-failed',
   * 'inference-failed', 'model-unsupported'.
   */
  evaluate(baselineBytes: Uint8Array, candidateBytes: Uint8Array, request: PackagerEvaluateRequest): Promise<{ result: EvaluationResult; inputs: CalibrationSummary }>
}

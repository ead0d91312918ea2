/** What the local inference API (adapters/inferenceHttp.ts) serves. Implemented by AgentRuntime. */
import type { InstallState } from '../../../src-shared/domain/device.ts'
import type { TensorInfo } from '../../../src-shared/domain/model.ts'
import type { TensorValue } from '../core/tensorValue.ts'

export interface InferenceResult {
  outputs: Record<string, TensorValue>
  latencyMs: number
  modelName: string
  modelVersion: string
  modelSha256: string
  executionProvider: string
}

export interface ServedModelInfo {
  name: string
  version: string
  sha256: string
  modelId: string
  inputs: readonly TensorInfo[]
  outputs: readonly TensorInfo[]
  executionProvider: string
  /** Why the session is not on a preferred provider; null when it is. */
  executionProviderFallback: string | null
  /** True while the model is on trial (switched, not yet committed). */
  isOnTrial: boolean
}

export interface InferenceService {
  readonly deviceId: string
  /**
   * Runs one inference on the served model; `modelName` is its name or 'active'. Counted in telemetry.
   * Throws AppError 'unavailable' (no model), 'not-found' (another name), 'invalid-input' or 'inference-failed'.
   */
  infer(feeds: Record<string, TensorValue>, modelName?: string): Promise<InferenceResult>
  /** The served model, or null when none; throws AppError 'not-found' when `modelName` names another model. */
  describeModel(modelName: string): ServedModelInfo | null
  health(): { isServing: boolean; installState: InstallState; isConnected: boolean }
}

/** Loads and runs models. Implemented over onnxruntime-node by adapters/onnxRuntime.ts. */
import type { ExecutionProviderProbe } from '../../../src-shared/domain/device.ts'
import type { TensorInfo } from '../../../src-shared/domain/model.ts'
import type { TensorValue } from '../core/tensorValue.ts'

export interface LoadedModel {
  /** The execution provider the session runs on, e.g. 'cuda' or 'cpu'. */
  readonly executionProvider: string
  /** Providers tried before `executionProvider` whose session creation failed, each with the reason. */
  readonly loadFailures: readonly string[]
  readonly inputs: readonly TensorInfo[]
  readonly outputs: readonly TensorInfo[]
  /** Runs one inference. Throws AppError 'inference-failed' when the runtime rejects the feeds. */
  run(feeds: Record<string, TensorValue>): Promise<Record<string, TensorValue>>
  close(): Promise<void>
}

export interface ModelRuntime {
  /** Which execution providers actually create a session on this machine. Cached per process. */
  probeExecutionProviders(): Promise<ExecutionProviderProbe[]>
  /**
   * Creates a session from model bytes, trying `providers` in order and keeping the first that loads.
   * Throws AppError 'model-load-failed' when none does.
   */
  load(modelBytes: Uint8Array, providers: readonly string[]): Promise<LoadedModel>
}

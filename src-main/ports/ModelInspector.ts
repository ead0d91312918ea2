import type { ModelFormat, TensorInfo } from '../../src-shared/domain/model.ts'

export interface ModelDescription {
  format: ModelFormat
  inputs: TensorInfo[]
  outputs: TensorInfo[]
}

/** Checks that bytes are a model this control center can deliver, by loading them in the runtime. */
export interface ModelInspector {
  /**
   * Throws AppError 'model-invalid' (the runtime cannot load the bytes; its reason in one line) or
   * 'model-unsupported' (a format other than ONNX).
   */
  inspect(bytes: Uint8Array, fileName: string): Promise<ModelDescription>
}

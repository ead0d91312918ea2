/** Validates imported models by loading them in onnxruntime-node, the runtime the agents use. */
import { InferenceSession } from 'onnxruntime-node'
import type { TensorInfo } from '../../../src-shared/domain/model.ts'
import { AppError } from '../../../src-shared/errors.ts'
import type { ModelInspector } from '../../ports/ModelInspector.ts'

/** TensorFlow Lite flatbuffers carry the file identifier 'TFL3' at byte 4. */
function isTfLite(bytes: Uint8Array, fileName: string): boolean {
  const identifier = String.fromCharCode(...bytes.subarray(4, 8))
  return identifier === 'TFL3' || /\.tflite$/i.test(fileName)
}

/** onnxruntime's messages can span lines and carry paths of the build machine; the user needs the first line. */
export function oneLineReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  const line = text.split(/\r?\n/).map((part) => part.trim()).find((part) => part.length > 0) ?? 'unknown error'
  return line.length > 300 ? `${line.slice(0, 297)}...` : line
}

function toTensorInfo(metadata: InferenceSession.ValueMetadata): TensorInfo {
  if (!metadata.isTensor) return { name: metadata.name.slice(0, 256), elementType: 'non-tensor', shape: [] }
  return {
    name: metadata.name.slice(0, 256),
    elementType: String(metadata.type).slice(0, 32),
    shape: metadata.shape.slice(0, 16).map((dim) => (typeof dim === 'string' ? dim.slice(0, 64) : dim >= 0 ? dim : null)),
  }
}

export function createOnnxModelInspector(): ModelInspector {
  return {
    async inspect(bytes, fileName) {
      if (bytes.byteLength === 0) throw new AppError('model-invalid', `${fileName} is empty`, { fileName })
      if (isTfLite(bytes, fileName)) {
        throw new AppError('model-unsupported', `${fileName} is a TensorFlow Lite model; only ONNX models can be deployed for now`, {
          fileName,
          format: 'tflite',
        })
      }
      let session: InferenceSession
      try {
        // Severity 3 (error) keeps onnxruntime's own warnings about the rejected file out of our log.
        session = await InferenceSession.create(bytes, { logSeverityLevel: 3 })
      } catch (error) {
        const reason = oneLineReason(error)
        throw new AppError('model-invalid', `${fileName} is not a model onnxruntime can load: ${reason}`, { fileName, reason })
      }
      try {
        return { format: 'onnx', inputs: session.inputMetadata.map(toTensorInfo), outputs: session.outputMetadata.map(toTensorInfo) }
      } finally {
        await session.release()
      }
    },
  }
}

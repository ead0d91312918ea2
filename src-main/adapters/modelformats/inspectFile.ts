/** Reads a model file, detects ONNX or TFLite, and describes it (inspectModel.ts does the analysis). */
import { readFile } from 'node:fs/promises'
import { dirname, extname } from 'node:path'
import { ModelInspection } from '../../../src-shared/domain/modelInspection.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { inspectOnnxModel, inspectTfliteModel } from '../../core/packaging/inspectModel.ts'
import { decodeOnnx, statExternalData } from './onnxCodec.ts'
import { decodeTflite, isTfliteFile } from './tfliteCodec.ts'

export type DetectedFormat = 'onnx' | 'tflite'

/** TFLite files carry the TFL3 identifier at bytes 4..8; ONNX has no magic, so everything else is tried as ONNX. */
export function detectModelFormat(bytes: Uint8Array, fileName: string): DetectedFormat {
  if (isTfliteFile(bytes)) return 'tflite'
  if (extname(fileName).toLowerCase() === '.tflite') {
    throw new AppError('model-invalid', `${fileName} has the .tflite extension but not the TFL3 identifier of a TFLite model`, { fileName })
  }
  return 'onnx'
}

export async function readModelBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new AppError('not-found', `Model file ${path} does not exist`, { path })
    if (code === 'EISDIR') throw new AppError('invalid-input', `${path} is a folder, not a model file`, { path })
    throw new AppError('model-invalid', `Model file ${path} cannot be read (${code ?? 'unknown error'})`, { path })
  }
}

/**
 * Inspects an .onnx or .tflite file. External data files are checked next to the model (missing or short ones
 * raise model-invalid). The result is validated against the shared ModelInspection schema.
 */
export async function inspectModelFile(path: string): Promise<ModelInspection> {
  const bytes = await readModelBytes(path)
  const format = detectModelFormat(bytes, path)
  if (format === 'tflite') return ModelInspection.parse(inspectTfliteModel(decodeTflite(bytes), { sizeBytes: bytes.length }))
  const model = decodeOnnx(bytes)
  const files = await statExternalData(model, dirname(path))
  const inspection = inspectOnnxModel(model, {
    sizeBytes: bytes.length,
    externalFileSizes: new Map(files.map((f) => [f.location, f.sizeBytes])),
  })
  return ModelInspection.parse(inspection)
}

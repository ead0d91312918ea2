/**
 * ONNX protobuf codec: bytes ⇄ OnnxModel plain objects (src-main/core/packaging/onnxModel.ts), over our own
 * onnx.proto schema (onnxSchema.ts), plus safe resolution of external data files.
 * Damaged input raises AppError('model-invalid') with a sentence; protobufjs's own messages never reach the user.
 */
import { open, readFile, realpath, stat } from 'node:fs/promises'
import { dirname, isAbsolute, relative, resolve } from 'node:path'
import { AppError, BugError } from '../../../src-shared/errors.ts'
import { DataLocation, type OnnxModel, type OnnxTensor } from '../../core/packaging/onnxModel.ts'
import { forEachTensor } from '../../core/packaging/onnxWalk.ts'
import { externalDataField, isExternalTensor, tensorPayloadByteLength } from '../../core/packaging/tensorData.ts'
import { onnxModelType } from './onnxSchema.ts'

export * from '../../core/packaging/onnxModel.ts'
export * from '../../core/packaging/tensorData.ts'
export { forEachGraph, forEachNode, forEachTensor, walkModel } from '../../core/packaging/onnxWalk.ts'

/** protobuf cannot address more than 2 GiB; ONNX stores larger models with external data. */
export const MAX_PROTOBUF_BYTES = 2 ** 31 - 1

function decodeFailure(error: unknown, byteLength: number): AppError {
  const text = error instanceof Error ? error.message : String(error)
  // protobufjs reports truncation as "index out of range: A + B > C" and garbage as "invalid wire type N at offset M".
  const truncated = /index out of range/.test(text)
  const offset = /offset (\d+)/.exec(text)?.[1]
  return new AppError(
    'model-invalid',
    truncated
      ? `The file is not a readable ONNX model: it ends (at ${byteLength} bytes) in the middle of a protobuf field, so it is truncated or not ONNX at all; copy the model again`
      : `The file is not a readable ONNX model: its protobuf encoding is damaged${offset === undefined ? '' : ` near byte ${offset}`}`,
    { byteLength, ...(offset === undefined ? {} : { offset: Number(offset) }), truncated },
  )
}

/**
 * Decodes an ONNX ModelProto. Longs become numbers (exact up to 2^53), bytes stay Uint8Array views into `bytes`,
 * repeated fields are always arrays, unset scalars are absent.
 */
export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  if (bytes.length === 0) throw new AppError('model-invalid', 'The ONNX file is empty', { byteLength: 0 })
  const type = onnxModelType()
  let message: ReturnType<typeof type.decode>
  try {
    message = type.decode(bytes)
  } catch (error) {
    throw decodeFailure(error, bytes.length)
  }
  const model = type.toObject(message, { longs: Number, arrays: true, defaults: false }) as OnnxModel
  if (model.irVersion === undefined || model.irVersion <= 0 || model.graph === undefined) {
    throw new AppError('model-invalid', 'The file is not an ONNX model: it has no IR version or no graph', {
      byteLength: bytes.length,
      hasIrVersion: model.irVersion !== undefined,
      hasGraph: model.graph !== undefined,
    })
  }
  return model
}

/** Encodes a model to ONNX protobuf bytes. Large int64 values ±2^63 are written as INT64_MAX/MIN. */
export function encodeOnnx(model: OnnxModel): Uint8Array {
  const type = onnxModelType()
  let bytes: Uint8Array
  try {
    bytes = type.encode(type.fromObject(model)).finish()
  } catch (error) {
    // Our own objects failed to convert: a bug in the caller's transform, not a user problem.
    throw new BugError(`encodeOnnx received a malformed model object: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (bytes.length > MAX_PROTOBUF_BYTES) {
    throw new AppError('model-unsupported', 'The model is larger than 2 GiB, which a single ONNX protobuf file cannot hold', {
      sizeBytes: bytes.length,
    })
  }
  return bytes
}

export interface ExternalDataReference {
  /** The 'location' key as written in the model (relative to the model's folder). */
  location: string
  tensorName: string
  offsetBytes: number
  /** The byte count from the 'length' key, or the count implied by dtype and shape when absent. */
  lengthBytes: number
  hasExplicitLength: boolean
}

function tensorLabel(tensor: OnnxTensor): string {
  return tensor.name !== undefined && tensor.name !== '' ? tensor.name : '(unnamed)'
}

function parseByteCount(tensor: OnnxTensor, key: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new AppError('model-invalid', `Tensor ${tensorLabel(tensor)} has an invalid external data ${key} '${value}'`, {
      tensor: tensor.name,
      [key]: value,
    })
  }
  return Number(value)
}

/** Lists the external data each tensor refers to (pure: reads nothing). */
export function listExternalData(model: OnnxModel): ExternalDataReference[] {
  const out: ExternalDataReference[] = []
  forEachTensor(model, ({ tensor }) => {
    if (!isExternalTensor(tensor)) return
    const location = externalDataField(tensor, 'location')
    if (location === undefined || location === '') {
      throw new AppError('model-invalid', `Tensor ${tensorLabel(tensor)} is marked as external data but names no location`, { tensor: tensor.name })
    }
    const length = parseByteCount(tensor, 'length', externalDataField(tensor, 'length'))
    out.push({
      location,
      tensorName: tensorLabel(tensor),
      offsetBytes: parseByteCount(tensor, 'offset', externalDataField(tensor, 'offset')) ?? 0,
      lengthBytes: length ?? tensorPayloadByteLength(tensor),
      hasExplicitLength: length !== undefined,
    })
  })
  return out
}

/**
 * Resolves an external data location inside baseDir. Absolute paths, '..' escapes and symbolic links leading out
 * of baseDir are refused: a model file must not make us read arbitrary files.
 */
export async function resolveExternalDataPath(baseDir: string, location: string, tensorName: string): Promise<string> {
  const escapes = (path: string, root: string): boolean => {
    const rel = relative(root, path)
    return rel === '' || rel.startsWith('..') || isAbsolute(rel)
  }
  if (location.includes('\0') || isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.split(/[\\/]/).includes('..')) {
    throw new AppError('model-invalid', `External data location '${location}' of tensor ${tensorName} points outside the model's folder`, {
      location,
      tensor: tensorName,
    })
  }
  const root = resolve(baseDir)
  const candidate = resolve(root, location)
  if (escapes(candidate, root)) {
    throw new AppError('model-invalid', `External data location '${location}' of tensor ${tensorName} points outside the model's folder`, {
      location,
      tensor: tensorName,
    })
  }
  let real: string
  let realRoot: string
  try {
    real = await realpath(candidate)
    realRoot = await realpath(root)
  } catch {
    throw new AppError('model-invalid', `External data file ${location} referenced by tensor ${tensorName} is missing next to the model`, {
      location,
      tensor: tensorName,
      baseDir: root,
    })
  }
  if (escapes(real, realRoot)) {
    throw new AppError('model-invalid', `External data file '${location}' of tensor ${tensorName} is a link to a file outside the model's folder`, {
      location,
      tensor: tensorName,
    })
  }
  return real
}

/** Checks every external data file exists and holds the bytes the model expects; returns each file's size. */
export async function statExternalData(model: OnnxModel, baseDir: string): Promise<Array<{ location: string; sizeBytes: number }>> {
  const sizes = new Map<string, number>()
  for (const ref of listExternalData(model)) {
    const path = await resolveExternalDataPath(baseDir, ref.location, ref.tensorName)
    const size = sizes.get(ref.location) ?? (await stat(path)).size
    sizes.set(ref.location, size)
    if (ref.offsetBytes + ref.lengthBytes > size) {
      throw new AppError(
        'model-invalid',
        `External data file ${ref.location} is ${size} bytes, too short for tensor ${ref.tensorName} (needs bytes ${ref.offsetBytes}..${ref.offsetBytes + ref.lengthBytes})`,
        { location: ref.location, tensor: ref.tensorName, sizeBytes: size },
      )
    }
  }
  return [...sizes].map(([location, sizeBytes]) => ({ location, sizeBytes }))
}

/**
 * Reads every external tensor's bytes into rawData and marks it DEFAULT, in place; returns the same model.
 * baseDir is the folder of the .onnx file (ONNX locations are relative to it).
 */
export async function loadExternalData(model: OnnxModel, baseDir: string): Promise<OnnxModel> {
  const tensors: OnnxTensor[] = []
  forEachTensor(model, ({ tensor }) => {
    if (isExternalTensor(tensor)) tensors.push(tensor)
  })
  if (tensors.length === 0) return model
  const refs = listExternalData(model)
  const handles = new Map<string, { handle: Awaited<ReturnType<typeof open>>; sizeBytes: number }>()
  try {
    for (const [index, tensor] of tensors.entries()) {
      const ref = refs[index]
      if (ref === undefined) throw new BugError('listExternalData and forEachTensor disagree on external tensors')
      let file = handles.get(ref.location)
      if (file === undefined) {
        const path = await resolveExternalDataPath(baseDir, ref.location, ref.tensorName)
        const handle = await open(path, 'r')
        file = { handle, sizeBytes: (await handle.stat()).size }
        handles.set(ref.location, file)
      }
      if (ref.offsetBytes + ref.lengthBytes > file.sizeBytes) {
        throw new AppError(
          'model-invalid',
          `External data file ${ref.location} is ${file.sizeBytes} bytes, too short for tensor ${ref.tensorName} (needs bytes ${ref.offsetBytes}..${ref.offsetBytes + ref.lengthBytes})`,
          { location: ref.location, tensor: ref.tensorName, sizeBytes: file.sizeBytes },
        )
      }
      const data = new Uint8Array(ref.lengthBytes)
      const { bytesRead } = await file.handle.read(data, 0, ref.lengthBytes, ref.offsetBytes)
      if (bytesRead !== ref.lengthBytes) {
        throw new AppError('model-invalid', `External data file ${ref.location} ended early while reading tensor ${ref.tensorName}`, {
          location: ref.location,
          tensor: ref.tensorName,
        })
      }
      tensor.rawData = data
      tensor.dataLocation = DataLocation.DEFAULT
      tensor.externalData = []
    }
  } finally {
    for (const { handle } of handles.values()) await handle.close()
  }
  return model
}

/** Reads and decodes an .onnx file; with loadExternal, also pulls external data from the file's folder. */
export async function readOnnxFile(path: string, options: { loadExternal?: boolean } = {}): Promise<OnnxModel> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new AppError(code === 'ENOENT' ? 'not-found' : 'model-invalid', code === 'ENOENT' ? `Model file ${path} does not exist` : `Model file ${path} cannot be read (${code ?? 'error'})`, {
      path,
    })
  }
  const model = decodeOnnx(bytes)
  return options.loadExternal === true ? loadExternalData(model, dirname(path)) : model
}

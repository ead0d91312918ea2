/**
 * Turns NumPy arrays into onnxruntime feeds following a run plan (core/evaluation/planInputBatches.ts): slices rows
 * or stacked samples, converts dtypes to what the model input takes, and reads model input specs from a session.
 */
import * as ort from 'onnxruntime-node'
import { AppError } from '../../../src-shared/errors.ts'
import { type InputPlan, type InputSlice, type ModelInputSpec, planInputBatches } from '../../core/evaluation/planInputBatches.ts'
import { encodeFloat16 } from '../../core/packaging/tensorData.ts'
import { type NdArray, elementCount, toFloat64 } from '../numpy/npy.ts'

/** The model's inputs as onnxruntime reports them; a negative or empty dimension is dynamic. */
export function sessionInputSpecs(session: ort.InferenceSession): ModelInputSpec[] {
  return session.inputMetadata.map((metadata) => {
    if (!metadata.isTensor) {
      throw new AppError('model-unsupported', `The model input '${metadata.name}' is not a tensor; only tensor inputs can be fed from NumPy arrays.`, {
        input: metadata.name,
      })
    }
    return {
      name: metadata.name,
      elementType: metadata.type,
      shape: metadata.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : typeof dim === 'string' && dim !== '' ? dim : null)),
    }
  })
}

export function planFeeds(session: ort.InferenceSession, arrays: ReadonlyMap<string, NdArray>, options: { batchSize?: number; source?: string } = {}): InputPlan {
  return planInputBatches(sessionInputSpecs(session), arrays, options)
}

/** Elements [start, start + count) of an array's flat data, converted to the input's element type. */
function convert(array: NdArray, start: number, count: number, elementType: string): ort.Tensor['data'] {
  // Same dtype: share the bytes (float16 stays raw half bits and bool one byte per element, as onnxruntime takes them).
  if (array.dtype === elementType) return array.data.subarray(start, start + count)
  const view: NdArray = { dtype: array.dtype, shape: [count], data: array.data.subarray(start, start + count) }
  const values = toFloat64(view)
  switch (elementType) {
    case 'float16':
      return encodeFloat16(values)
    case 'float32':
      return Float32Array.from(values)
    case 'float64':
      return Float64Array.from(values)
    case 'int8':
      return Int8Array.from(values)
    case 'int16':
      return Int16Array.from(values)
    case 'int32':
      return Int32Array.from(values)
    case 'int64':
      return BigInt64Array.from(values, (value) => BigInt(Math.trunc(value)))
    case 'uint8':
      return Uint8Array.from(values)
    case 'uint16':
      return Uint16Array.from(values)
    case 'uint32':
      return Uint32Array.from(values)
    case 'uint64':
      return BigUint64Array.from(values, (value) => BigInt(Math.max(0, Math.trunc(value))))
    default:
      throw new AppError('model-unsupported', `Inputs of type ${elementType} cannot be fed from NumPy arrays of type ${array.dtype}.`, { elementType })
  }
}

/** Builds the feeds of one planned run. */
export function feedsForRun(run: readonly InputSlice[], arrays: ReadonlyMap<string, NdArray>, inputs: readonly ModelInputSpec[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {}
  for (const slice of run) {
    const array = arrays.get(slice.array)
    const input = inputs.find((candidate) => candidate.name === slice.input)
    if (array === undefined || input === undefined) throw new AppError('invalid-input', `No array for the model input '${slice.input}'.`)
    const type = input.elementType as ort.Tensor.Type
    if (slice.kind === 'constant') {
      feeds[slice.input] = new ort.Tensor(type, convert(array, 0, elementCount(array.shape), input.elementType), array.shape)
    } else {
      const perSample = slice.kind === 'stacked' ? elementCount(slice.shape) : elementCount(array.shape.slice(1))
      const start = slice.kind === 'stacked' ? slice.index * perSample : slice.startRow * perSample
      const count = elementCount(slice.shape)
      feeds[slice.input] = new ort.Tensor(type, convert(array, start, count, input.elementType), slice.shape)
    }
  }
  return feeds
}

/** Reads a tensor's values as numbers (int64 converted; strings refused). */
export function tensorValues(tensor: ort.Tensor, outputName: string): ArrayLike<number> {
  const data = tensor.data
  if (data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array || data instanceof Int8Array || data instanceof Int16Array) return data
  if (data instanceof Uint8Array || data instanceof Uint16Array || data instanceof Uint32Array) {
    if (tensor.type === 'float16') throw new AppError('model-unsupported', `The output '${outputName}' is float16; compare models with float32 outputs.`)
    return data
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float64Array.from(data, (value) => Number(value))
  throw new AppError('model-unsupported', `The output '${outputName}' has type ${tensor.type}, which cannot be compared numerically.`, { output: outputName })
}

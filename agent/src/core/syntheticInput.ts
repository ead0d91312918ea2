/** Builds synthetic input tensors from a model's input metadata, for the built-in workload and warm-up. Pure. */
import { AppError } from '../../../src-shared/errors.ts'
import type { TensorInfo } from '../../../src-shared/domain/model.ts'
import type { TensorData, TensorValue } from './tensorValue.ts'


/** Synthetic inputs never exceed this many elements per tensor, so a model with huge fixed shapes cannot exhaust memory. */
export const MAX_SYNTHETIC_ELEMENTS = 16 * 1024 * 1024

/** A dimension that is symbolic ('batch'), unknown (null) or non-positive becomes 1. */
export function concreteDims(shape: TensorInfo['shape']): number[] {
  return shape.map((dim) => (typeof dim === 'number' && dim > 0 ? dim : 1))
}

/** `shift` moves float inputs (uniform in [-1, 1) by default) to simulate input drift. */
export function buildSyntheticTensor(input: TensorInfo, random: () => number, shift = 0): TensorValue {
  const dims = concreteDims(input.shape)
  const count = dims.reduce((product, dim) => product * dim, 1)
  if (count > MAX_SYNTHETIC_ELEMENTS) {
    throw new AppError('model-unsupported', `Input ${input.name} needs ${count} elements, more than the synthetic workload allows`, {
      input: input.name,
      elementCount: count,
    })
  }
  const uniform = () => random() * 2 - 1 + shift
  const small = () => Math.floor(random() * 10)
  const fill = <T extends { [index: number]: number | bigint; length: number }>(array: T, value: () => number | bigint): T => {
    for (let i = 0; i < array.length; i++) array[i] = value()
    return array
  }
  const tensor = (data: TensorData): TensorValue => ({ elementType: input.elementType, dims, data })
  switch (input.elementType) {
    case 'float32':
      return tensor(fill(new Float32Array(count), uniform))
    case 'float64':
      return tensor(fill(new Float64Array(count), uniform))
    case 'int8':
      return tensor(fill(new Int8Array(count), small))
    case 'uint8':
      return tensor(fill(new Uint8Array(count), small))
    case 'int16':
      return tensor(fill(new Int16Array(count), small))
    case 'uint16':
      return tensor(fill(new Uint16Array(count), small))
    case 'int32':
      return tensor(fill(new Int32Array(count), small))
    case 'uint32':
      return tensor(fill(new Uint32Array(count), small))
    case 'int64':
      return tensor(fill(new BigInt64Array(count), () => BigInt(small())))
    case 'bool':
      return tensor(fill(new Uint8Array(count), () => (random() < 0.5 ? 0 : 1)))
    default:
      throw new AppError('model-unsupported', `Input ${input.name} has element type ${input.elementType}, which the synthetic workload cannot generate`, {
        input: input.name,
        elementType: input.elementType,
      })
  }
}

/** One synthetic tensor per model input, keyed by input name (the feeds of one inference). */
export function buildSyntheticInputs(inputs: readonly TensorInfo[], random: () => number, shift = 0): Record<string, TensorValue> {
  const feeds: Record<string, TensorValue> = {}
  for (const input of inputs) feeds[input.name] = buildSyntheticTensor(input, random, shift)
  return feeds
}

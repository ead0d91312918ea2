/**
 * Tensors on the wire: JSON `{type, dims, data}` (local inference API, golden cases) and raw little-endian bytes
 * (the API's application/octet-stream form). Pure; every malformed input is an AppError 'invalid-input'.
 */
import { AppError } from '../../../src-shared/errors.ts'
import type { TensorData, TensorValue } from './tensorValue.ts'

export interface JsonTensorInput {
  /** Element type; defaults to the model input's own type. */
  type?: string | undefined
  dims: readonly number[]
  data: readonly unknown[]
}

export type JsonTensorValue = number | string | boolean | null

export interface JsonTensorOutput {
  type: string
  dims: number[]
  data: JsonTensorValue[]
}

type NumericArray = Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>
const NUMERIC: Record<string, { create: (count: number) => NumericArray; bytes: number; isInteger: boolean }> = {
  float32: { create: (count) => new Float32Array(count), bytes: 4, isInteger: false },
  float64: { create: (count) => new Float64Array(count), bytes: 8, isInteger: false },
  int8: { create: (count) => new Int8Array(count), bytes: 1, isInteger: true },
  uint8: { create: (count) => new Uint8Array(count), bytes: 1, isInteger: true },
  int16: { create: (count) => new Int16Array(count), bytes: 2, isInteger: true },
  uint16: { create: (count) => new Uint16Array(count), bytes: 2, isInteger: true },
  int32: { create: (count) => new Int32Array(count), bytes: 4, isInteger: true },
  uint32: { create: (count) => new Uint32Array(count), bytes: 4, isInteger: true },
  bool: { create: (count) => new Uint8Array(count), bytes: 1, isInteger: true },
}
const BIG: Record<string, { create: (count: number) => BigInt64Array | BigUint64Array }> = {
  int64: { create: (count) => new BigInt64Array(count) },
  uint64: { create: (count) => new BigUint64Array(count) },
}

/** Element types the API and golden cases accept. */
export const SUPPORTED_ELEMENT_TYPES = [...Object.keys(NUMERIC), ...Object.keys(BIG), 'string']

/** Largest tensor the API accepts, in elements; the request body cap usually bites first. */
export const MAX_TENSOR_ELEMENTS = 64 * 1024 * 1024

function invalid(message: string, details?: Record<string, unknown>): AppError {
  return new AppError('invalid-input', message, details)
}

export function elementCountOf(name: string, dims: readonly number[]): number {
  let count = 1
  for (const dim of dims) {
    if (!Number.isInteger(dim) || dim < 0) throw invalid(`Input ${name} has an invalid dimension ${String(dim)}`, { input: name })
    count *= dim
  }
  if (count > MAX_TENSOR_ELEMENTS) throw invalid(`Input ${name} has ${count} elements, more than ${MAX_TENSOR_ELEMENTS}`, { input: name })
  return count
}

function typeOf(name: string, given: string | undefined, expected: string | undefined): string {
  const type = given ?? expected
  if (type === undefined) throw invalid(`Input ${name} needs a "type"`, { input: name })
  if (!SUPPORTED_ELEMENT_TYPES.includes(type)) {
    throw invalid(`Input ${name} has element type ${type}; supported: ${SUPPORTED_ELEMENT_TYPES.join(', ')}`, { input: name })
  }
  return type
}

/** Builds a tensor from JSON values. `expectedType` is the model input's type, used when `type` is absent. */
export function tensorFromJson(name: string, input: JsonTensorInput, expectedType?: string): TensorValue {
  const type = typeOf(name, input.type, expectedType)
  const dims = [...input.dims]
  const count = elementCountOf(name, dims)
  if (input.data.length !== count) {
    throw invalid(`Input ${name} has ${input.data.length} values but dims ${JSON.stringify(dims)} need ${count}`, { input: name })
  }
  const bad = (index: number) => invalid(`Input ${name} value ${index} is not a valid ${type}`, { input: name, index })
  if (type === 'string') {
    const data: string[] = []
    for (const [index, value] of input.data.entries()) {
      if (typeof value !== 'string') throw bad(index)
      data.push(value)
    }
    return { elementType: type, dims, data }
  }
  const big = BIG[type]
  if (big !== undefined) {
    const data = big.create(count)
    for (let i = 0; i < count; i++) {
      const value = input.data[i]
      if (!((typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && /^-?\d{1,20}$/.test(value)))) throw bad(i)
      const exact = BigInt(value)
      data[i] = exact
      // Typed arrays wrap out-of-range values silently; a wrapped value would be a different input.
      if (data[i] !== exact) throw bad(i)
    }
    return { elementType: type, dims, data }
  }
  const numeric = NUMERIC[type]
  if (numeric === undefined) throw invalid(`Input ${name} has element type ${type}`, { input: name })
  const data = numeric.create(count)
  for (let i = 0; i < count; i++) {
    const raw = input.data[i]
    const value = typeof raw === 'boolean' && type === 'bool' ? Number(raw) : raw
    if (typeof value !== 'number' || !Number.isFinite(value) || (numeric.isInteger && !Number.isInteger(value))) throw bad(i)
    data[i] = value
    if (numeric.isInteger && data[i] !== value) throw bad(i)
  }
  return { elementType: type, dims, data }
}

/** JSON form of an output; int64 beyond 2^53 becomes a decimal string, non-finite floats become null. */
export function tensorToJson(value: TensorValue): JsonTensorOutput {
  const data: JsonTensorValue[] = []
  const source = value.data
  if (Array.isArray(source)) {
    data.push(...source)
  } else if (source instanceof BigInt64Array || source instanceof BigUint64Array) {
    for (const element of source) data.push(element <= BigInt(Number.MAX_SAFE_INTEGER) && element >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(element) : element.toString())
  } else if (value.elementType === 'bool') {
    for (const element of source) data.push(element !== 0)
  } else {
    for (const element of source) data.push(Number.isFinite(element) ? element : null)
  }
  return { type: value.elementType, dims: [...value.dims], data }
}

/** Builds a tensor from raw little-endian bytes (the octet-stream request body). */
export function tensorFromBytes(name: string, type: string, dims: readonly number[], bytes: Uint8Array): TensorValue {
  const count = elementCountOf(name, dims)
  const size = NUMERIC[type]?.bytes ?? (BIG[type] === undefined ? undefined : 8)
  if (size === undefined) throw invalid(`Input ${name}: element type ${type} cannot be sent as raw bytes`, { input: name })
  if (bytes.byteLength !== count * size) {
    throw invalid(`Input ${name} has ${bytes.byteLength} bytes but ${count} ${type} values need ${count * size}`, { input: name })
  }
  // A fresh, aligned buffer: the request body may start at any offset.
  const buffer = new ArrayBuffer(bytes.byteLength)
  new Uint8Array(buffer).set(bytes)
  const data = ((): TensorData => {
    switch (type) {
      case 'float32':
        return new Float32Array(buffer)
      case 'float64':
        return new Float64Array(buffer)
      case 'int8':
        return new Int8Array(buffer)
      case 'int16':
        return new Int16Array(buffer)
      case 'uint16':
        return new Uint16Array(buffer)
      case 'int32':
        return new Int32Array(buffer)
      case 'uint32':
        return new Uint32Array(buffer)
      case 'int64':
        return new BigInt64Array(buffer)
      case 'uint64':
        return new BigUint64Array(buffer)
      default:
        return new Uint8Array(buffer)
    }
  })()
  return { elementType: type, dims: [...dims], data }
}

/** Raw bytes of an output tensor; string tensors have none. */
export function tensorToBytes(value: TensorValue): Uint8Array {
  if (Array.isArray(value.data)) throw invalid(`Output of type ${value.elementType} cannot be sent as raw bytes; ask for JSON`)
  return new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength)
}

/** Parses the `x-outpost-dims` header: "1,16" or "[1,16]". */
export function parseDimsHeader(text: string | undefined): number[] {
  if (text === undefined || text.trim() === '') throw invalid('Binary requests need an x-outpost-dims header, e.g. "1,16"')
  const parts = text.replace(/^\s*\[|\]\s*$/g, '').split(',')
  const dims = parts.map((part) => (/^\s*\d{1,9}\s*$/.test(part) ? Number(part) : Number.NaN))
  if (dims.length > 8 || dims.some((dim) => !Number.isInteger(dim))) throw invalid(`x-outpost-dims "${text.slice(0, 64)}" is not a list of up to 8 whole numbers`)
  return dims
}

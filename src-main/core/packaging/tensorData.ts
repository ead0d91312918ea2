/**
 * ONNX element types and tensor payloads: names, bit widths, float16/bfloat16 conversion, and readers/builders that
 * hide whether a TensorProto keeps its values in raw_data (little-endian) or in the typed fields
 * (float_data, int32_data, int64_data, ...). Pure: no I/O.
 */
import { AppError, BugError } from '../../../src-shared/errors.ts'
import { DataLocation, type OnnxTensor } from './onnxModel.ts'

/** TensorProto.DataType codes (onnx.proto, IR 10 plus FLOAT4E2M1 and FLOAT8E8M0 from IR 11). */
export const TensorDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
} as const
export type TensorDataTypeCode = (typeof TensorDataType)[keyof typeof TensorDataType]

/** Names follow onnxruntime's tensor type names where it has one ('float32', 'int64', ...). */
const typeTable: ReadonlyArray<{ code: number; name: string; bits: number }> = [
  { code: 0, name: 'undefined', bits: 0 },
  { code: 1, name: 'float32', bits: 32 },
  { code: 2, name: 'uint8', bits: 8 },
  { code: 3, name: 'int8', bits: 8 },
  { code: 4, name: 'uint16', bits: 16 },
  { code: 5, name: 'int16', bits: 16 },
  { code: 6, name: 'int32', bits: 32 },
  { code: 7, name: 'int64', bits: 64 },
  { code: 8, name: 'string', bits: 0 },
  { code: 9, name: 'bool', bits: 8 },
  { code: 10, name: 'float16', bits: 16 },
  { code: 11, name: 'float64', bits: 64 },
  { code: 12, name: 'uint32', bits: 32 },
  { code: 13, name: 'uint64', bits: 64 },
  { code: 14, name: 'complex64', bits: 64 },
  { code: 15, name: 'complex128', bits: 128 },
  { code: 16, name: 'bfloat16', bits: 16 },
  { code: 17, name: 'float8e4m3fn', bits: 8 },
  { code: 18, name: 'float8e4m3fnuz', bits: 8 },
  { code: 19, name: 'float8e5m2', bits: 8 },
  { code: 20, name: 'float8e5m2fnuz', bits: 8 },
  { code: 21, name: 'uint4', bits: 4 },
  { code: 22, name: 'int4', bits: 4 },
  { code: 23, name: 'float4e2m1', bits: 4 },
  { code: 24, name: 'float8e8m0', bits: 8 },
]

export function dataTypeName(code: number | undefined): string {
  return typeTable.find((t) => t.code === (code ?? 0))?.name ?? `type-${code ?? 0}`
}

export function dataTypeFromName(name: string): number | undefined {
  return typeTable.find((t) => t.name === name)?.code
}

/** Bits per element; 0 for strings and unknown codes. */
export function dataTypeBits(code: number | undefined): number {
  return typeTable.find((t) => t.code === (code ?? 0))?.bits ?? 0
}

/** Bytes needed for `count` elements (4-bit types pack two per byte). */
export function dataTypeByteLength(code: number | undefined, count: number): number {
  return Math.ceil((dataTypeBits(code) * count) / 8)
}

export function isFloatingDataType(code: number | undefined): boolean {
  return code === 1 || code === 10 || code === 11 || code === 16 || (code !== undefined && code >= 17 && code <= 20) || code === 23 || code === 24
}

export function tensorElementCount(tensor: Pick<OnnxTensor, 'dims'>): number {
  return tensor.dims.reduce((product, d) => product * d, 1)
}

export function isExternalTensor(tensor: OnnxTensor): boolean {
  return tensor.dataLocation === DataLocation.EXTERNAL
}

/** Reads a key of TensorProto.external_data ('location', 'offset', 'length', 'checksum'). */
export function externalDataField(tensor: OnnxTensor, key: string): string | undefined {
  return tensor.externalData?.find((e) => e.key === key)?.value
}

/** Bytes the tensor's values occupy wherever they are stored (raw_data, typed fields, or an external file). */
export function tensorPayloadByteLength(tensor: OnnxTensor): number {
  if (isExternalTensor(tensor)) {
    const length = externalDataField(tensor, 'length')
    if (length !== undefined && /^\d+$/.test(length)) return Number(length)
    return dataTypeByteLength(tensor.dataType, tensorElementCount(tensor))
  }
  if (tensor.rawData !== undefined && tensor.rawData.length > 0) return tensor.rawData.length
  if (tensor.dataType === TensorDataType.STRING) return (tensor.stringData ?? []).reduce((sum, s) => sum + s.length, 0)
  return dataTypeByteLength(tensor.dataType, tensorElementCount(tensor))
}

// ---- float16 and bfloat16 ----

const scratchFloat = new Float32Array(1)
const scratchBits = new Uint32Array(scratchFloat.buffer)

/** IEEE 754 binary16 bits of a number, rounding to nearest even; overflow gives ±Infinity, NaN stays NaN. */
export function float32ToFloat16Bits(value: number): number {
  scratchFloat[0] = value
  const bits = scratchBits[0] ?? 0
  const sign = (bits >>> 16) & 0x8000
  const exponent = (bits >>> 23) & 0xff
  const mantissa = bits & 0x7fffff
  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13)
  const halfExponent = exponent - 127 + 15
  if (halfExponent >= 31) return sign | 0x7c00
  if (halfExponent <= 0) {
    // Subnormal half: value = m * 2^-24 with m = (1.mantissa as a 24-bit integer) >> (14 - halfExponent).
    if (halfExponent < -10) return sign
    const full = mantissa | 0x800000
    const shift = 14 - halfExponent
    let half = full >>> shift
    const remainder = full & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    if (remainder > halfway || (remainder === halfway && (half & 1) === 1)) half++
    return sign | half
  }
  let half = (halfExponent << 10) | (mantissa >>> 13)
  const remainder = mantissa & 0x1fff
  // A carry out of the mantissa correctly bumps the exponent (and yields Infinity above 65504 + half an ulp).
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half++
  return sign | half
}

let float16Table: Float32Array | undefined

function buildFloat16Table(): Float32Array {
  const table = new Float32Array(65536)
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1
    const exponent = (bits >>> 10) & 0x1f
    const mantissa = bits & 0x3ff
    table[bits] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 31
          ? mantissa === 0
            ? sign * Infinity
            : NaN
          : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
  }
  return table
}

export function float16BitsToFloat32(bits: number): number {
  float16Table ??= buildFloat16Table()
  return float16Table[bits & 0xffff] ?? NaN
}

export const FLOAT16_MAX = 65504
/** The smallest positive subnormal float16 (2^-24). */
export const FLOAT16_MIN_POSITIVE = 2 ** -24

export function encodeFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i] ?? 0)
  return out
}

export function decodeFloat16(bits: ArrayLike<number>): Float32Array {
  float16Table ??= buildFloat16Table()
  const out = new Float32Array(bits.length)
  for (let i = 0; i < bits.length; i++) out[i] = float16Table[(bits[i] ?? 0) & 0xffff] ?? NaN
  return out
}

export function float32ToBfloat16Bits(value: number): number {
  scratchFloat[0] = value
  const bits = scratchBits[0] ?? 0
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff
  const rounding = 0x7fff + ((bits >>> 16) & 1)
  return ((bits + rounding) >>> 16) & 0xffff
}

export function bfloat16BitsToFloat32(bits: number): number {
  scratchBits[0] = (bits & 0xffff) << 16
  return scratchFloat[0] ?? NaN
}

// ---- raw bytes ----

const isLittleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

function describe(tensor: OnnxTensor): string {
  return tensor.name !== undefined && tensor.name !== '' ? `'${tensor.name}'` : '(unnamed)'
}

/**
 * The tensor's values as little-endian bytes, the layout raw_data uses, whichever field stores them.
 * The result may share memory with the tensor: copy before mutating.
 */
export function tensorRawBytes(tensor: OnnxTensor): Uint8Array {
  if (isExternalTensor(tensor)) {
    throw new BugError(`Tensor ${describe(tensor)} keeps its data in an external file; call loadExternalData first`)
  }
  if (tensor.rawData !== undefined && tensor.rawData.length > 0) return tensor.rawData
  const count = tensorElementCount(tensor)
  const type = tensor.dataType ?? 0
  const out = new Uint8Array(dataTypeByteLength(type, count))
  const view = new DataView(out.buffer)
  const int32Data = tensor.int32Data ?? []
  switch (type) {
    case TensorDataType.FLOAT:
    case TensorDataType.COMPLEX64: {
      const values = tensor.floatData ?? []
      for (let i = 0; i < values.length && i * 4 < out.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true)
      return out
    }
    case TensorDataType.DOUBLE:
    case TensorDataType.COMPLEX128: {
      const values = tensor.doubleData ?? []
      for (let i = 0; i < values.length && i * 8 < out.length; i++) view.setFloat64(i * 8, values[i] ?? 0, true)
      return out
    }
    case TensorDataType.INT32:
      for (let i = 0; i < int32Data.length && i * 4 < out.length; i++) view.setInt32(i * 4, int32Data[i] ?? 0, true)
      return out
    case TensorDataType.INT16:
    case TensorDataType.UINT16:
    case TensorDataType.FLOAT16:
    case TensorDataType.BFLOAT16:
      for (let i = 0; i < int32Data.length && i * 2 < out.length; i++) view.setUint16(i * 2, (int32Data[i] ?? 0) & 0xffff, true)
      return out
    case TensorDataType.INT8:
    case TensorDataType.UINT8:
    case TensorDataType.BOOL:
    case TensorDataType.FLOAT8E4M3FN:
    case TensorDataType.FLOAT8E4M3FNUZ:
    case TensorDataType.FLOAT8E5M2:
    case TensorDataType.FLOAT8E5M2FNUZ:
    case TensorDataType.FLOAT8E8M0:
    case TensorDataType.INT4:
    case TensorDataType.UINT4:
    case TensorDataType.FLOAT4E2M1:
      // 4-bit types: each int32_data entry holds one byte with two packed elements (onnx.proto).
      for (let i = 0; i < int32Data.length && i < out.length; i++) out[i] = (int32Data[i] ?? 0) & 0xff
      return out
    case TensorDataType.INT64: {
      const values = tensor.int64Data ?? []
      for (let i = 0; i < values.length && i * 8 < out.length; i++) view.setBigInt64(i * 8, BigInt.asIntN(64, toBigInt(values[i] ?? 0)), true)
      return out
    }
    case TensorDataType.UINT32: {
      const values = tensor.uint64Data ?? []
      for (let i = 0; i < values.length && i * 4 < out.length; i++) view.setUint32(i * 4, (values[i] ?? 0) >>> 0, true)
      return out
    }
    case TensorDataType.UINT64: {
      const values = tensor.uint64Data ?? []
      for (let i = 0; i < values.length && i * 8 < out.length; i++) view.setBigUint64(i * 8, BigInt.asUintN(64, toBigInt(values[i] ?? 0)), true)
      return out
    }
    default:
      throw new AppError('model-unsupported', `Tensor ${describe(tensor)} has element type ${dataTypeName(type)}, which has no fixed-size byte layout`, {
        tensor: tensor.name,
        dataType: type,
      })
  }
}

/** Number → BigInt for int64 payloads; ±2^63 (INT64_MAX/MIN after decoding) saturate instead of wrapping. */
function toBigInt(value: number): bigint {
  if (value >= 2 ** 63) return 2n ** 63n - 1n
  if (value <= -(2 ** 63)) return -(2n ** 63n)
  return BigInt(Math.trunc(value))
}

/** An aligned copy of bytes, so that typed arrays can view it. */
function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length)
  copy.set(bytes)
  return copy.buffer
}

function checkPayloadLength(tensor: OnnxTensor, bytes: Uint8Array, elementBytes: number): number {
  const count = tensorElementCount(tensor)
  if (bytes.length < count * elementBytes) {
    throw new AppError(
      'model-invalid',
      `Tensor ${describe(tensor)} declares ${count} elements but stores only ${bytes.length} bytes; the model file is damaged`,
      { tensor: tensor.name, count, byteLength: bytes.length },
    )
  }
  return count
}

/** Any real numeric tensor as float32 values (float16/bfloat16 decoded, integers converted). */
export function readTensorAsFloat32(tensor: OnnxTensor): Float32Array {
  const type = tensor.dataType ?? 0
  if (type === TensorDataType.FLOAT && (tensor.rawData === undefined || tensor.rawData.length === 0) && !isExternalTensor(tensor)) {
    const values = Float32Array.from(tensor.floatData ?? [])
    if (values.length < tensorElementCount(tensor)) checkPayloadLength(tensor, new Uint8Array(values.buffer), 4)
    return values
  }
  const bytes = tensorRawBytes(tensor)
  const bits = dataTypeBits(type)
  const count = checkPayloadLength(tensor, bytes, bits / 8)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Float32Array(count)
  switch (type) {
    case TensorDataType.FLOAT:
      if (isLittleEndianHost) return new Float32Array(alignedCopy(bytes.subarray(0, count * 4)))
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true)
      return out
    case TensorDataType.FLOAT16:
      float16Table ??= buildFloat16Table()
      for (let i = 0; i < count; i++) out[i] = float16Table[view.getUint16(i * 2, true)] ?? NaN
      return out
    case TensorDataType.BFLOAT16:
      for (let i = 0; i < count; i++) out[i] = bfloat16BitsToFloat32(view.getUint16(i * 2, true))
      return out
    case TensorDataType.DOUBLE:
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true)
      return out
    default: {
      const numbers = readTensorAsNumbers(tensor)
      for (let i = 0; i < count; i++) out[i] = numbers[i] ?? 0
      return out
    }
  }
}

/** Any numeric tensor as plain numbers (int64 beyond 2^53 loses precision; INT64_MAX becomes 2^63). */
export function readTensorAsNumbers(tensor: OnnxTensor): number[] {
  const type = tensor.dataType ?? 0
  const bytes = tensorRawBytes(tensor)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const bits = dataTypeBits(type)
  const count = checkPayloadLength(tensor, bytes, bits / 8)
  const out = new Array<number>(count)
  const read = (i: number): number => {
    switch (type) {
      case TensorDataType.FLOAT:
        return view.getFloat32(i * 4, true)
      case TensorDataType.DOUBLE:
        return view.getFloat64(i * 8, true)
      case TensorDataType.FLOAT16:
        return float16BitsToFloat32(view.getUint16(i * 2, true))
      case TensorDataType.BFLOAT16:
        return bfloat16BitsToFloat32(view.getUint16(i * 2, true))
      case TensorDataType.INT8:
        return view.getInt8(i)
      case TensorDataType.UINT8:
      case TensorDataType.BOOL:
        return view.getUint8(i)
      case TensorDataType.INT16:
        return view.getInt16(i * 2, true)
      case TensorDataType.UINT16:
        return view.getUint16(i * 2, true)
      case TensorDataType.INT32:
        return view.getInt32(i * 4, true)
      case TensorDataType.UINT32:
        return view.getUint32(i * 4, true)
      case TensorDataType.INT64:
        return Number(view.getBigInt64(i * 8, true))
      case TensorDataType.UINT64:
        return Number(view.getBigUint64(i * 8, true))
      case TensorDataType.INT4: {
        const byte = view.getUint8(i >> 1)
        const nibble = i & 1 ? byte >> 4 : byte & 0x0f
        return nibble >= 8 ? nibble - 16 : nibble
      }
      case TensorDataType.UINT4: {
        const byte = view.getUint8(i >> 1)
        return i & 1 ? byte >> 4 : byte & 0x0f
      }
      default:
        throw new AppError('model-unsupported', `Tensor ${describe(tensor)} has element type ${dataTypeName(type)}, which Outpost cannot read as numbers`, {
          tensor: tensor.name,
          dataType: type,
        })
    }
  }
  for (let i = 0; i < count; i++) out[i] = read(i)
  return out
}

/** INT64 (or UINT64, reinterpreted as signed) tensors, exactly. */
export function readTensorAsBigInt64(tensor: OnnxTensor): BigInt64Array {
  const type = tensor.dataType ?? 0
  if (type !== TensorDataType.INT64 && type !== TensorDataType.UINT64) {
    throw new BugError(`readTensorAsBigInt64 called on tensor ${describe(tensor)} of type ${dataTypeName(type)}`)
  }
  const bytes = tensorRawBytes(tensor)
  const count = checkPayloadLength(tensor, bytes, 8)
  if (isLittleEndianHost) return new BigInt64Array(alignedCopy(bytes.subarray(0, count * 8)))
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return BigInt64Array.from({ length: count }, (_, i) => view.getBigInt64(i * 8, true))
}

export function readTensorStrings(tensor: OnnxTensor): string[] {
  const decoder = new TextDecoder()
  return (tensor.stringData ?? []).map((s) => decoder.decode(s))
}

// ---- builders ----

export function tensorFromRawBytes(name: string, dataType: number, dims: readonly number[], rawData: Uint8Array): OnnxTensor {
  const expected = dataTypeByteLength(dataType, dims.reduce((p, d) => p * d, 1))
  if (rawData.length !== expected) {
    throw new BugError(`Tensor '${name}' of type ${dataTypeName(dataType)} and shape [${dims.join(',')}] needs ${expected} bytes, got ${rawData.length}`)
  }
  return { name, dataType, dims: [...dims], rawData }
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  if (!isLittleEndianHost) throw new BugError('Tensor builders assume a little-endian host')
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
}

export function float32Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  return tensorFromRawBytes(name, TensorDataType.FLOAT, dims, bytesOf(Float32Array.from(values)))
}

/** float32 values rounded to float16 (nearest even); callers clamp to ±FLOAT16_MAX first if overflow matters. */
export function float16Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  return tensorFromRawBytes(name, TensorDataType.FLOAT16, dims, bytesOf(encodeFloat16(values)))
}

export function int64Tensor(name: string, dims: readonly number[], values: ArrayLike<number | bigint>): OnnxTensor {
  const out = new BigInt64Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0
    out[i] = typeof v === 'bigint' ? v : toBigInt(v)
  }
  return tensorFromRawBytes(name, TensorDataType.INT64, dims, bytesOf(out))
}

export function int32Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  return tensorFromRawBytes(name, TensorDataType.INT32, dims, bytesOf(Int32Array.from(values)))
}

export function int8Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  return tensorFromRawBytes(name, TensorDataType.INT8, dims, bytesOf(Int8Array.from(values)))
}

export function uint8Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  return tensorFromRawBytes(name, TensorDataType.UINT8, dims, bytesOf(Uint8Array.from(values)))
}

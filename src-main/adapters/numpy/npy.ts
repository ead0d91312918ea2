/**
 * Reads and writes NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), the format ML engineers already keep
 * their inputs and labels in. Spec: numpy/lib/format.py ("NPY format"). Arrays come back in C order with native
 * (little-endian) typed arrays whatever the file's byte order and memory order.
 */
import { AppError } from '../../../src-shared/errors.ts'

export const npyDtypes = ['float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool'] as const
export type NpyDtype = (typeof npyDtypes)[number]

/** float16 stays raw IEEE half bits (what onnxruntime's float16 tensors take); bool is one byte per element, 0 or 1. */
export type NpyData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array

export interface NdArray {
  dtype: NpyDtype
  shape: number[]
  data: NpyData
}

interface DtypeInfo {
  kind: string
  itemSizeBytes: number
}

const dtypeInfo: Record<NpyDtype, DtypeInfo> = {
  float16: { kind: 'f', itemSizeBytes: 2 },
  float32: { kind: 'f', itemSizeBytes: 4 },
  float64: { kind: 'f', itemSizeBytes: 8 },
  int8: { kind: 'i', itemSizeBytes: 1 },
  int16: { kind: 'i', itemSizeBytes: 2 },
  int32: { kind: 'i', itemSizeBytes: 4 },
  int64: { kind: 'i', itemSizeBytes: 8 },
  uint8: { kind: 'u', itemSizeBytes: 1 },
  uint16: { kind: 'u', itemSizeBytes: 2 },
  uint32: { kind: 'u', itemSizeBytes: 4 },
  uint64: { kind: 'u', itemSizeBytes: 8 },
  bool: { kind: 'b', itemSizeBytes: 1 },
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY
/** numpy refuses headers above this size unless told otherwise (format.py _MAX_HEADER_SIZE); so do we. */
const MAX_HEADER_BYTES = 10_000

export function itemSizeOf(dtype: NpyDtype): number {
  return dtypeInfo[dtype].itemSizeBytes
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1)
}

export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((byte, index) => bytes[index] === byte)
}

function invalid(source: string, reason: string): AppError {
  return new AppError('invalid-input', `${source} is not a valid .npy file: ${reason}.`, { source })
}

/** Maps a descr such as '<f4', '>i8', '|b1' to our dtype and byte order. */
function parseDescr(descr: string, source: string): { dtype: NpyDtype; isBigEndian: boolean } {
  const match = /^([<>|=])([fiub])(\d+)$/.exec(descr)
  if (!match) throw invalid(source, `the dtype '${descr}' is not supported (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)`)
  const [, order, kind, size] = match
  const dtype = npyDtypes.find((candidate) => dtypeInfo[candidate].kind === kind && String(dtypeInfo[candidate].itemSizeBytes) === size)
  if (!dtype) throw invalid(source, `the dtype '${descr}' is not supported (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)`)
  return { dtype, isBigEndian: order === '>' }
}

type HeaderValue = string | boolean | number | HeaderValue[] | { [key: string]: HeaderValue }

/** A parser for the Python literal subset numpy writes in headers: dicts, tuples, lists, strings, ints, booleans. */
function parseHeaderLiteral(text: string, source: string): HeaderValue {
  let position = 0
  const skipSpace = () => {
    while (position < text.length && /\s/.test(text.charAt(position))) position++
  }
  const fail = (what: string): never => {
    throw invalid(source, `the header could not be parsed (${what} at character ${position})`)
  }
  const parseValue = (): HeaderValue => {
    skipSpace()
    const char = text.charAt(position)
    if (char === '{') {
      position++
      const result: Record<string, HeaderValue> = {}
      for (;;) {
        skipSpace()
        if (text.charAt(position) === '}') {
          position++
          return result
        }
        const key = parseValue()
        if (typeof key !== 'string') fail('a non-string key')
        skipSpace()
        if (text.charAt(position) !== ':') fail("a missing ':'")
        position++
        result[key as string] = parseValue()
        skipSpace()
        if (text.charAt(position) === ',') position++
        else if (text.charAt(position) !== '}') fail("a missing ',' or '}'")
      }
    }
    if (char === '(' || char === '[') {
      const close = char === '(' ? ')' : ']'
      position++
      const items: HeaderValue[] = []
      for (;;) {
        skipSpace()
        if (text.charAt(position) === close) {
          position++
          return items
        }
        items.push(parseValue())
        skipSpace()
        if (text.charAt(position) === ',') position++
        else if (text.charAt(position) !== close) fail(`a missing ',' or '${close}'`)
      }
    }
    if (char === "'" || char === '"') {
      const end = text.indexOf(char, position + 1)
      if (end < 0) fail('an unterminated string')
      const value = text.slice(position + 1, end)
      position = end + 1
      return value
    }
    const word = /^(True|False|-?\d+L?)/.exec(text.slice(position))
    if (!word) return fail('an unexpected token')
    position += word[0].length
    if (word[0] === 'True') return true
    if (word[0] === 'False') return false
    return Number.parseInt(word[0], 10)
  }
  const value = parseValue()
  skipSpace()
  if (position !== text.length) fail('trailing characters')
  return value
}

function readHeader(bytes: Uint8Array, source: string): { dtype: NpyDtype; isBigEndian: boolean; isFortranOrder: boolean; shape: number[]; dataOffset: number } {
  if (!isNpy(bytes)) throw invalid(source, 'the magic string \\x93NUMPY is missing')
  if (bytes.length < 10) throw invalid(source, 'the file ends inside the header')
  const major = bytes[6] ?? 0
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let headerLength: number
  let headerStart: number
  if (major === 1) {
    headerLength = view.getUint16(8, true)
    headerStart = 10
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw invalid(source, 'the file ends inside the header')
    headerLength = view.getUint32(8, true)
    headerStart = 12
  } else {
    throw invalid(source, `format version ${major}.${bytes[7] ?? 0} is not supported (1.0, 2.0 and 3.0 are)`)
  }
  if (headerLength > MAX_HEADER_BYTES) throw invalid(source, `the header is ${headerLength} bytes, more than the ${MAX_HEADER_BYTES} allowed`)
  if (headerStart + headerLength > bytes.length) throw invalid(source, 'the file ends inside the header')
  // Versions 1 and 2 store the header in latin1, version 3 in UTF-8; the keys numpy writes are ASCII either way.
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLength)).trim()
  const header = parseHeaderLiteral(headerText, source)
  if (typeof header !== 'object' || Array.isArray(header)) throw invalid(source, 'the header is not a dictionary')
  const { descr, fortran_order: fortranOrder, shape } = header
  if (typeof descr !== 'string') throw invalid(source, "the header's 'descr' is not a simple dtype (structured arrays are not supported)")
  if (typeof fortranOrder !== 'boolean') throw invalid(source, "the header's 'fortran_order' is missing")
  if (!Array.isArray(shape) || !shape.every((dim) => typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0)) {
    throw invalid(source, "the header's 'shape' is not a tuple of non-negative integers")
  }
  return { ...parseDescr(descr, source), isFortranOrder: fortranOrder, shape: shape as number[], dataOffset: headerStart + headerLength }
}

function allocate(dtype: NpyDtype, count: number): NpyData {
  switch (dtype) {
    case 'float16':
    case 'uint16':
      return new Uint16Array(count)
    case 'float32':
      return new Float32Array(count)
    case 'float64':
      return new Float64Array(count)
    case 'int8':
      return new Int8Array(count)
    case 'int16':
      return new Int16Array(count)
    case 'int32':
      return new Int32Array(count)
    case 'int64':
      return new BigInt64Array(count)
    case 'uint8':
    case 'bool':
      return new Uint8Array(count)
    case 'uint32':
      return new Uint32Array(count)
    case 'uint64':
      return new BigUint64Array(count)
  }
}

/** Decodes element bytes into a native typed array, swapping bytes when the file is big-endian. */
function decodeElements(bytes: Uint8Array, dtype: NpyDtype, count: number, isBigEndian: boolean): NpyData {
  const itemSizeBytes = itemSizeOf(dtype)
  const out = allocate(dtype, count)
  const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  if (!isBigEndian || itemSizeBytes === 1) {
    outBytes.set(bytes.subarray(0, count * itemSizeBytes))
  } else {
    for (let element = 0; element < count; element++) {
      const base = element * itemSizeBytes
      for (let byte = 0; byte < itemSizeBytes; byte++) outBytes[base + byte] = bytes[base + itemSizeBytes - 1 - byte] ?? 0
    }
  }
  if (dtype === 'bool') {
    const flags = out as Uint8Array
    for (let index = 0; index < flags.length; index++) flags[index] = flags[index] === 0 ? 0 : 1
  }
  return out
}

/** Reorders a Fortran-order (column-major) buffer into C order (row-major). */
function fortranToC(data: NpyData, dtype: NpyDtype, shape: readonly number[]): NpyData {
  if (shape.length < 2) return data
  const count = elementCount(shape)
  const out = allocate(dtype, count)
  const rank = shape.length
  const fortranStrides = new Array<number>(rank)
  let stride = 1
  for (let axis = 0; axis < rank; axis++) {
    fortranStrides[axis] = stride
    stride *= shape[axis] ?? 1
  }
  const index = new Array<number>(rank).fill(0)
  const source = data as unknown as ArrayLike<number | bigint>
  const target = out as unknown as { [position: number]: number | bigint }
  for (let cPosition = 0; cPosition < count; cPosition++) {
    let fortranPosition = 0
    for (let axis = 0; axis < rank; axis++) fortranPosition += (index[axis] ?? 0) * (fortranStrides[axis] ?? 0)
    target[cPosition] = source[fortranPosition] as number | bigint
    for (let axis = rank - 1; axis >= 0; axis--) {
      const next = (index[axis] ?? 0) + 1
      if (next < (shape[axis] ?? 1)) {
        index[axis] = next
        break
      }
      index[axis] = 0
    }
  }
  return out
}

/** Parses a whole `.npy` file. `source` names the file in error messages. */
export function readNpy(bytes: Uint8Array, source = 'The array'): NdArray {
  const header = readHeader(bytes, source)
  const count = elementCount(header.shape)
  const needed = count * itemSizeOf(header.dtype)
  const available = bytes.length - header.dataOffset
  if (available < needed) throw invalid(source, `the data is truncated (${available} of ${needed} bytes for shape [${header.shape.join(', ')}])`)
  const raw = decodeElements(bytes.subarray(header.dataOffset), header.dtype, count, header.isBigEndian)
  return { dtype: header.dtype, shape: header.shape, data: header.isFortranOrder ? fortranToC(raw, header.dtype, header.shape) : raw }
}

const descrFor: Record<NpyDtype, string> = {
  float16: '<f2',
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  uint64: '<u8',
  bool: '|b1',
}

/** Encodes an array as a version 1.0 `.npy` file (C order, little-endian), the way numpy.save writes it. */
export function writeNpy(array: NdArray): Uint8Array {
  const count = elementCount(array.shape)
  if (array.data.length !== count) {
    throw new AppError('invalid-input', `The array has ${array.data.length} elements but its shape [${array.shape.join(', ')}] needs ${count}.`)
  }
  const shapeText = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`
  const dict = `{'descr': '${descrFor[array.dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`
  // numpy pads the header with spaces so the data starts on a 64-byte boundary, ending with a newline.
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1
  const padding = (64 - (unpadded % 64)) % 64
  const headerText = dict + ' '.repeat(padding) + '\n'
  if (headerText.length > 0xffff) throw new AppError('invalid-input', 'The array has too many dimensions to be written as a .npy file.')
  const dataBytes = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength)
  const out = new Uint8Array(10 + headerText.length + dataBytes.length)
  out.set(MAGIC, 0)
  out[6] = 1
  out[7] = 0
  new DataView(out.buffer).setUint16(8, headerText.length, true)
  for (let index = 0; index < headerText.length; index++) out[10 + index] = headerText.charCodeAt(index)
  out.set(dataBytes, 10 + headerText.length)
  return out
}

/** Converts any numeric array to float64 numbers (bigints are converted with loss above 2^53). */
export function toFloat64(array: NdArray): Float64Array {
  const out = new Float64Array(array.data.length)
  if (array.dtype === 'float16') {
    const bits = array.data as Uint16Array
    for (let index = 0; index < bits.length; index++) out[index] = halfToFloat(bits[index] ?? 0)
    return out
  }
  const source = array.data as ArrayLike<number | bigint>
  for (let index = 0; index < source.length; index++) out[index] = Number(source[index])
  return out
}

/** Converts any numeric array to float32, the dtype most model inputs take. */
export function toFloat32(array: NdArray): Float32Array {
  if (array.dtype === 'float32') return array.data as Float32Array
  return Float32Array.from(toFloat64(array))
}

/** IEEE 754 binary16 bits to a number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const fraction = bits & 0x3ff
  if (exponent === 0) return sign * fraction * 2 ** -24
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15)
}

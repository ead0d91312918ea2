import { describe, expect, it } from 'vitest'
import { parseDimsHeader, tensorFromBytes, tensorFromJson, tensorToBytes, tensorToJson } from './jsonTensor.ts'

describe('JSON tensors', () => {
  it('builds typed tensors, taking the type from the model when the request omits it', () => {
    expect(tensorFromJson('x', { dims: [2, 2], data: [1, 2, 3, 4.5] }, 'float32')).toEqual({ elementType: 'float32', dims: [2, 2], data: Float32Array.from([1, 2, 3, 4.5]) })
    expect(tensorFromJson('ids', { type: 'int64', dims: [2], data: [7, '9007199254740993'] })).toEqual({
      elementType: 'int64',
      dims: [2],
      data: BigInt64Array.from([7n, 9007199254740993n]),
    })
    expect(tensorFromJson('m', { type: 'bool', dims: [2], data: [true, 0] }).data).toEqual(Uint8Array.from([1, 0]))
    expect(tensorFromJson('s', { type: 'string', dims: [1], data: ['hi'] }).data).toEqual(['hi'])
  })

  it.each([
    ['a count that does not match the dims', { type: 'float32', dims: [3], data: [1, 2] }, /need 3/],
    ['a non-number', { type: 'float32', dims: [1], data: ['1'] }, /value 0/],
    ['a fraction for an integer type', { type: 'int32', dims: [1], data: [1.5] }, /value 0/],
    ['an out-of-range integer', { type: 'uint8', dims: [1], data: [300] }, /value 0/],
    ['an int64 beyond 64 bits', { type: 'int64', dims: [1], data: ['99999999999999999999'] }, /value 0/],
    ['an unknown type', { type: 'complex64', dims: [1], data: [1] }, /supported/],
    ['a negative dimension', { type: 'float32', dims: [-1], data: [] }, /dimension/],
    ['a missing type', { dims: [1], data: [1] }, /needs a "type"/],
  ])('rejects %s with invalid-input', (_name, input, message) => {
    expect(() => tensorFromJson('x', input)).toThrow(message)
    try {
      tensorFromJson('x', input)
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid-input' })
    }
  })

  it('writes outputs as JSON with safe integers as numbers, others as strings, non-finite floats as null', () => {
    expect(tensorToJson({ elementType: 'int64', dims: [2], data: BigInt64Array.from([5n, 2n ** 60n]) }).data).toEqual([5, '1152921504606846976'])
    expect(tensorToJson({ elementType: 'float32', dims: [2], data: Float32Array.from([0.5, Number.NaN]) })).toEqual({ type: 'float32', dims: [2], data: [0.5, null] })
    expect(tensorToJson({ elementType: 'bool', dims: [2], data: Uint8Array.from([1, 0]) }).data).toEqual([true, false])
  })
})

describe('binary tensors', () => {
  it('round-trips little-endian bytes, even from an unaligned offset', () => {
    const values = Float32Array.from([1.5, -2, 3.25])
    const padded = new Uint8Array(13)
    padded.set(new Uint8Array(values.buffer), 1)
    const tensor = tensorFromBytes('x', 'float32', [3], padded.subarray(1))
    expect(tensor.data).toEqual(values)
    expect(tensorToBytes(tensor)).toEqual(new Uint8Array(values.buffer))
    expect(() => tensorFromBytes('x', 'float32', [4], padded.subarray(1))).toThrow(/need 16/)
    expect(() => tensorFromBytes('x', 'string', [1], new Uint8Array(1))).toThrow(/raw bytes/)
  })

  it('parses the dims header', () => {
    expect(parseDimsHeader('1,16')).toEqual([1, 16])
    expect(parseDimsHeader('[2, 3]')).toEqual([2, 3])
    expect(() => parseDimsHeader(undefined)).toThrow(/x-outpost-dims/)
    expect(() => parseDimsHeader('1,x')).toThrow(/whole numbers/)
  })
})

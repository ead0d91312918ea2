import { readFileSync } from 'node:fs'
import { Builder } from 'flatbuffers'
import { beforeAll, describe, expect, it } from 'vitest'
import { requireRealModels, type RealModelName } from '../../../fixtures/scripts/realModels.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { decodeTflite, tfliteBuiltinName } from './tfliteCodec.ts'

let realModels: Record<RealModelName, string>
beforeAll(async () => {
  realModels = await requireRealModels()
}, 240_000)

function expectAppError(run: () => unknown, code: string, message: RegExp): void {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe(code)
    expect((error as AppError).message).toMatch(message)
    return
  }
  throw new Error('expected an AppError')
}

/**
 * A TFLite file built with flatbuffers' Builder: one GELU (code 150, so deprecated_builtin_code saturates at 127),
 * one custom op, a quantized int8 weight tensor in buffer 1, and a signature.
 */
function buildTflite(): Uint8Array {
  const b = new Builder(1024)
  const intVector = (values: number[]): number => {
    b.startVector(4, values.length, 4)
    for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i] ?? 0)
    return b.endVector()
  }
  const offsetVector = (offsets: number[]): number => {
    b.startVector(4, offsets.length, 4)
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i] ?? 0)
    return b.endVector()
  }
  const floatVector = (values: number[]): number => {
    b.startVector(4, values.length, 4)
    for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i] ?? 0)
    return b.endVector()
  }
  const longVector = (values: bigint[]): number => {
    b.startVector(8, values.length, 8)
    for (let i = values.length - 1; i >= 0; i--) b.addInt64(values[i] ?? 0n)
    return b.endVector()
  }
  const tensor = (name: string, shape: number[], type: number, buffer: number, quantization?: number): number => {
    const nameOffset = b.createString(name)
    const shapeOffset = intVector(shape)
    b.startObject(8)
    b.addFieldOffset(0, shapeOffset, 0)
    b.addFieldInt8(1, type, 0)
    b.addFieldInt32(2, buffer, 0)
    b.addFieldOffset(3, nameOffset, 0)
    if (quantization !== undefined) b.addFieldOffset(4, quantization, 0)
    return b.endObject()
  }
  const scale = floatVector([0.05])
  const zeroPoint = longVector([3n])
  b.startObject(7)
  b.addFieldOffset(2, scale, 0)
  b.addFieldOffset(3, zeroPoint, 0)
  const quantization = b.endObject()
  const tensors = offsetVector([
    tensor('x', [1, 4], 0, 0),
    tensor('y', [1, 4], 0, 0),
    tensor('w', [4], 9, 1, quantization),
    tensor('z', [1, 4], 0, 0),
  ])
  const operator = (opcode: number, inputs: number[], outputs: number[]): number => {
    const inOffset = intVector(inputs)
    const outOffset = intVector(outputs)
    b.startObject(5)
    b.addFieldInt32(0, opcode, 0)
    b.addFieldOffset(1, inOffset, 0)
    b.addFieldOffset(2, outOffset, 0)
    return b.endObject()
  }
  const operators = offsetVector([operator(0, [0], [1]), operator(1, [1, 2], [3])])
  const inputs = intVector([0])
  const outputs = intVector([3])
  const subgraphName = b.createString('main')
  b.startObject(5)
  b.addFieldOffset(0, tensors, 0)
  b.addFieldOffset(1, inputs, 0)
  b.addFieldOffset(2, outputs, 0)
  b.addFieldOffset(3, operators, 0)
  b.addFieldOffset(4, subgraphName, 0)
  const subgraph = b.endObject()
  const customName = b.createString('MyOp')
  b.startObject(4)
  b.addFieldInt8(0, 127, 0)
  b.addFieldInt32(2, 1, 1)
  b.addFieldInt32(3, 150, 0)
  const gelu = b.endObject()
  b.startObject(4)
  b.addFieldInt8(0, 32, 0)
  b.addFieldOffset(1, customName, 0)
  b.addFieldInt32(2, 2, 1)
  const custom = b.endObject()
  b.startObject(3)
  const emptyBuffer = b.endObject()
  b.startVector(1, 4, 16)
  // Builder vectors are written back to front: this stores 4, 3, 2, 1.
  for (const byte of [1, 2, 3, 4]) b.addInt8(byte)
  const data = b.endVector()
  b.startObject(3)
  b.addFieldOffset(0, data, 0)
  const weightBuffer = b.endObject()
  const signatureKey = b.createString('serving_default')
  const mapName = b.createString('x')
  b.startObject(2)
  b.addFieldOffset(0, mapName, 0)
  b.addFieldInt32(1, 0, 0)
  const tensorMap = b.endObject()
  const signatureInputs = offsetVector([tensorMap])
  b.startObject(5)
  b.addFieldOffset(0, signatureInputs, 0)
  b.addFieldOffset(2, signatureKey, 0)
  const signature = b.endObject()
  const codes = offsetVector([gelu, custom])
  const subgraphs = offsetVector([subgraph])
  const buffers = offsetVector([emptyBuffer, weightBuffer])
  const signatures = offsetVector([signature])
  const description = b.createString('built by a test')
  b.startObject(8)
  b.addFieldInt32(0, 3, 0)
  b.addFieldOffset(1, codes, 0)
  b.addFieldOffset(2, subgraphs, 0)
  b.addFieldOffset(3, description, 0)
  b.addFieldOffset(4, buffers, 0)
  b.addFieldOffset(7, signatures, 0)
  const model = b.endObject()
  b.finish(model, 'TFL3')
  return b.asUint8Array()
}

describe('decodeTflite', () => {
  it('reads a built model: builtin codes past 127, custom codes, quantization, buffers and signatures', () => {
    const bytes = buildTflite()
    const model = decodeTflite(bytes)
    expect(model.version).toBe(3)
    expect(model.description).toBe('built by a test')
    expect(model.operatorCodes.map((c) => [c.builtinName, c.customCode, c.version])).toEqual([
      ['GELU', undefined, 1],
      ['CUSTOM', 'MyOp', 2],
    ])
    const [subgraph] = model.subgraphs
    expect(subgraph?.name).toBe('main')
    expect(subgraph?.inputs).toEqual([0])
    expect(subgraph?.outputs).toEqual([3])
    expect(subgraph?.operators.map((o) => [o.opcodeIndex, o.inputs, o.outputs])).toEqual([
      [0, [0], [1]],
      [1, [1, 2], [3]],
    ])
    const weight = subgraph?.tensors[2]
    expect(weight).toMatchObject({ name: 'w', shape: [4], typeName: 'int8', buffer: 1 })
    expect(weight?.quantization?.scale[0]).toBeCloseTo(0.05)
    expect(weight?.quantization?.zeroPoint).toEqual([3])
    const buffer = model.buffers[1]
    expect(buffer?.sizeBytes).toBe(4)
    expect(buffer && Array.from(bytes.subarray(buffer.dataOffset, buffer.dataOffset + 4))).toEqual([4, 3, 2, 1])
    expect(model.signatureDefs).toEqual([{ signatureKey: 'serving_default', subgraphIndex: 0, inputs: [{ name: 'x', tensorIndex: 0 }], outputs: [] }])
    expect(tfliteBuiltinName(9)).toBe('FULLY_CONNECTED')
    expect(tfliteBuiltinName(999)).toBe('BUILTIN_999')
  })

  it('reads the MediaPipe face detector and selfie segmenter, custom op included', () => {
    const face = decodeTflite(readFileSync(realModels['face-detection']))
    const main = face.subgraphs[0]
    expect(main?.inputs.map((i) => main.tensors[i]?.name)).toEqual(['input'])
    expect(main?.tensors[main.inputs[0] ?? -1]?.shape).toEqual([1, 128, 128, 3])
    expect(main?.outputs.map((i) => [main.tensors[i]?.name, main.tensors[i]?.shape])).toEqual([
      ['regressors', [1, 896, 16]],
      ['classificators', [1, 896, 1]],
    ])
    expect(face.operatorCodes.map((c) => c.builtinName)).toContain('DEPTHWISE_CONV_2D')
    const selfie = decodeTflite(readFileSync(realModels['selfie-segmentation']))
    expect(selfie.operatorCodes.filter((c) => c.customCode !== undefined).map((c) => c.customCode)).toEqual(['Convolution2DTransposeBias'])
  })

  it('refuses truncated, corrupted and foreign files with model-invalid', () => {
    const bytes = readFileSync(realModels['face-detection'])
    for (const length of [8, 64, 1024, Math.floor(bytes.length / 2)]) {
      expectAppError(() => decodeTflite(bytes.subarray(0, length)), 'model-invalid', /damaged or truncated|no subgraph/)
    }
    const corrupt = Uint8Array.from(bytes)
    // The root table offset now points past the end of the file.
    new DataView(corrupt.buffer).setUint32(0, bytes.length + 100, true)
    expectAppError(() => decodeTflite(corrupt), 'model-invalid', /damaged or truncated/)
    expectAppError(() => decodeTflite(readFileSync(realModels['ocr-cls'])), 'model-invalid', /TFL3/)
  })
})

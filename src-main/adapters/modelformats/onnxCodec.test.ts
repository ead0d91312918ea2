import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import onnxProto from 'onnx-proto'
import * as ort from 'onnxruntime-node'
import { afterEach, describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { tinyClassifierPath } from '../../../fixtures/scripts/generateModels.ts'
import { requireRealModels } from '../../../fixtures/scripts/realModels.ts'
import {
  AttributeType,
  DataLocation,
  TensorDataType,
  attr,
  decodeFloat16,
  decodeOnnx,
  encodeFloat16,
  encodeOnnx,
  float16BitsToFloat32,
  float32Tensor,
  float32ToBfloat16Bits,
  bfloat16BitsToFloat32,
  float32ToFloat16Bits,
  int64Tensor,
  listExternalData,
  loadExternalData,
  makeGraph,
  makeNode,
  makeTensorValueInfo,
  readOnnxFile,
  readTensorAsBigInt64,
  readTensorAsFloat32,
  readTensorAsNumbers,
  readTensorStrings,
  statExternalData,
  tensorRawBytes,
  type OnnxModel,
} from './onnxCodec.ts'

const tempDirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-onnx-codec-'))
  tempDirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function expectAppError(run: () => unknown, code: string, message: RegExp): Promise<AppError> {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe(code)
    expect((error as AppError).message).toMatch(message)
    return error as AppError
  }
  throw new Error('expected an AppError')
}

/** A model that uses the fields the onnx-proto package (ONNX 1.10) does not know. */
function modelWithNewerFields(): OnnxModel {
  const meta = [{ key: 'origin', value: 'test' }]
  const thenBranch = makeGraph({
    name: 'then',
    node: [makeNode('Identity', ['x'], ['y_then'])],
    output: [makeTensorValueInfo('y_then', TensorDataType.FLOAT, [2])],
  })
  const elseBranch = makeGraph({
    name: 'else',
    node: [makeNode('Neg', ['x'], ['y_else'])],
    output: [makeTensorValueInfo('y_else', TensorDataType.FLOAT, [2])],
  })
  const weights = { ...float32Tensor('w', [2], [1.5, -2]), metadataProps: meta }
  return {
    irVersion: 10,
    opsetImport: [
      { domain: '', version: 21 },
      { domain: 'custom.fn', version: 1 },
    ],
    producerName: 'outpost-test',
    metadataProps: [{ key: 'license', value: 'MIT' }],
    configuration: [{ name: 'pair', numDevices: 2, device: ['gpu0', 'gpu1'] }],
    graph: makeGraph({
      name: 'g',
      metadataProps: meta,
      node: [
        {
          ...makeNode('If', ['cond'], ['y'], { name: 'branch', attribute: [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)] }),
          metadataProps: meta,
          deviceConfigurations: [
            { configurationId: 'pair', pipelineStage: 1, shardingSpec: [{ tensorName: 'y', device: [0, 1], shardedDim: [{ axis: 0, simpleSharding: [{ dimValue: 2, numShards: 2 }] }] }] },
          ],
        },
        { ...makeNode('Double', ['y'], ['z'], { domain: 'custom.fn' }), overload: 'v2' },
        makeNode('Slice', ['z', 'starts', 'ends'], ['s']),
        makeNode('Constant', [], ['typed'], {
          attribute: [{ name: 'value', type: AttributeType.TENSOR, t: int64Tensor('', [2], [9007199254740991, -3]) }],
        }),
      ],
      initializer: [weights, int64Tensor('starts', [1], [0]), { name: 'ends', dataType: TensorDataType.INT64, dims: [1], int64Data: [2 ** 63] }],
      sparseInitializer: [{ values: float32Tensor('sp', [1], [3]), indices: int64Tensor('sp_idx', [1], [1]), dims: [4] }],
      input: [
        makeTensorValueInfo('x', TensorDataType.FLOAT, ['n', 2]),
        { ...makeTensorValueInfo('cond', TensorDataType.BOOL, []), metadataProps: meta },
      ],
      output: [makeTensorValueInfo('s', TensorDataType.FLOAT, [null])],
      valueInfo: [
        { name: 'seq', type: { sequenceType: { elemType: { tensorType: { elemType: TensorDataType.FLOAT } } } } },
        { name: 'opt', type: { optionalType: { elemType: { tensorType: { elemType: TensorDataType.INT64 } } } } },
        { name: 'map', type: { mapType: { keyType: TensorDataType.STRING, valueType: { tensorType: { elemType: TensorDataType.FLOAT } } } } },
      ],
    }),
    functions: [
      {
        name: 'Double',
        domain: 'custom.fn',
        overload: 'v2',
        input: ['a'],
        output: ['b'],
        node: [makeNode('Add', ['a', 'a'], ['b'])],
        opsetImport: [{ domain: '', version: 21 }],
        metadataProps: meta,
      },
    ],
  }
}

describe('decodeOnnx / encodeOnnx', () => {
  it('round-trips the fixture model to an equal object that onnxruntime still runs', async () => {
    const bytes = readFileSync(tinyClassifierPath)
    const model = decodeOnnx(bytes)
    expect(model.irVersion).toBe(8)
    expect(model.graph?.node.map((n) => n.opType)).toEqual(['MatMul', 'Add', 'Relu', 'MatMul', 'Add', 'Softmax'])
    const reencoded = encodeOnnx(model)
    expect(decodeOnnx(reencoded)).toEqual(model)
    const session = await ort.InferenceSession.create(reencoded)
    const features = new ort.Tensor('float32', new Float32Array(16).fill(0.25), [1, 16])
    const result = await session.run({ features })
    const original = await (await ort.InferenceSession.create(bytes)).run({ features })
    expect(Array.from(result.probabilities?.data as Float32Array)).toEqual(Array.from(original.probabilities?.data as Float32Array))
  })

  it('round-trips the real ONNX models to equal objects and identical bytes', { timeout: 240_000 }, async () => {
    const real = await requireRealModels(['ocr-cls', 'ocr-det', 'silero-vad'])
    for (const path of [real['ocr-cls'], real['ocr-det'], real['silero-vad']]) {
      const bytes = readFileSync(path)
      const model = decodeOnnx(bytes)
      const reencoded = encodeOnnx(model)
      expect(decodeOnnx(reencoded)).toEqual(model)
      // These files were written by protobuf's C++ serializer with the same field order and packing as our schema.
      expect(Buffer.compare(Buffer.from(reencoded), bytes)).toBe(0)
    }
  })

  it('keeps fields newer than ONNX 1.10 that the onnx-proto package drops', () => {
    const model = modelWithNewerFields()
    const decoded = decodeOnnx(encodeOnnx(model))
    expect(decoded).toEqual(decodeOnnx(encodeOnnx(decoded)))
    expect(decoded.configuration).toEqual([{ name: 'pair', numDevices: 2, device: ['gpu0', 'gpu1'] }])
    const graph = decoded.graph
    expect(graph?.metadataProps).toEqual([{ key: 'origin', value: 'test' }])
    expect(graph?.node[0]?.deviceConfigurations?.[0]?.shardingSpec?.[0]?.shardedDim?.[0]?.simpleSharding).toEqual([{ dimValue: 2, numShards: 2 }])
    expect(graph?.node[1]?.overload).toBe('v2')
    expect(graph?.initializer[0]?.metadataProps).toEqual([{ key: 'origin', value: 'test' }])
    expect(graph?.input[1]?.metadataProps).toEqual([{ key: 'origin', value: 'test' }])
    expect(decoded.functions?.[0]?.overload).toBe('v2')
    expect(graph?.valueInfo.map((v) => Object.keys(v.type ?? {})[0])).toEqual(['sequenceType', 'optionalType', 'mapType'])
    expect(graph?.input[0]?.type?.tensorType?.shape?.dim).toEqual([{ dimParam: 'n' }, { dimValue: 2 }])

    // The old generated code silently loses the same fields on its own re-encode: the reason this codec exists.
    const old = onnxProto.onnx.ModelProto.decode(encodeOnnx(model))
    const oldAgain = decodeOnnx(onnxProto.onnx.ModelProto.encode(old).finish())
    expect(oldAgain.graph?.initializer[0]?.metadataProps ?? []).toEqual([])
    expect(oldAgain.graph?.node[1]?.overload).toBeUndefined()
  })

  it('keeps INT64_MAX exact through a round trip and reads int64 payloads exactly', () => {
    const decoded = decodeOnnx(encodeOnnx(modelWithNewerFields()))
    const ends = decoded.graph?.initializer.find((t) => t.name === 'ends')
    expect(ends).toBeDefined()
    if (ends === undefined) return
    expect(readTensorAsBigInt64(ends)[0]).toBe(2n ** 63n - 1n)
    const bytes = encodeOnnx(decoded)
    expect(readTensorAsBigInt64(decodeOnnx(bytes).graph?.initializer.find((t) => t.name === 'ends') ?? ends)[0]).toBe(2n ** 63n - 1n)
    const constant = decoded.graph?.node[3]?.attribute[0]?.t
    expect(constant && readTensorAsNumbers(constant)).toEqual([9007199254740991, -3])
  })

  it('refuses truncated, empty and non-ONNX bytes with model-invalid and a sentence', async () => {
    const bytes = readFileSync(tinyClassifierPath)
    const truncated = await expectAppError(() => decodeOnnx(bytes.subarray(0, bytes.length - 700)), 'model-invalid', /truncated/)
    expect(truncated.message).not.toMatch(/index out of range/)
    await expectAppError(() => decodeOnnx(new Uint8Array()), 'model-invalid', /empty/)
    await expectAppError(() => decodeOnnx(new TextEncoder().encode('{"not": "onnx"}')), 'model-invalid', /not (a readable|an) ONNX model/)
    const corrupt = Uint8Array.from(bytes)
    // The graph field's tag (field 7, length-delimited = 0x3a) turned into wire type 7, which does not exist.
    corrupt[bytes.indexOf(0x3a)] = 0x3f
    await expectAppError(() => decodeOnnx(corrupt), 'model-invalid', /protobuf encoding is damaged/)
  })
})

describe('tensor payloads', () => {
  it('converts float16 with round-to-nearest-even, subnormals, overflow and NaN', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00)
    expect(float32ToFloat16Bits(-2)).toBe(0xc000)
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff)
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff)
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00)
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001)
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000)
    expect(float32ToFloat16Bits(1.5 * 2 ** -25)).toBe(0x0001)
    expect(float32ToFloat16Bits(2 ** -14)).toBe(0x0400)
    expect(float32ToFloat16Bits(-0)).toBe(0x8000)
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00)
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02)
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true)
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = float16BitsToFloat32(bits)
      if (!Number.isNaN(value)) expect(float32ToFloat16Bits(value)).toBe(bits)
    }
    expect(Array.from(decodeFloat16(encodeFloat16([0.1, 1000, -3.5])))).toEqual([0.0999755859375, 1000, -3.5])
    expect(bfloat16BitsToFloat32(float32ToBfloat16Bits(1.00390625))).toBe(1)
    expect(bfloat16BitsToFloat32(float32ToBfloat16Bits(-3.5))).toBe(-3.5)
  })

  it('reads values from raw_data and from every typed field', () => {
    expect(Array.from(readTensorAsFloat32({ dims: [2], dataType: TensorDataType.FLOAT, floatData: [1, 2] }))).toEqual([1, 2])
    expect(Array.from(readTensorAsFloat32({ dims: [2], dataType: TensorDataType.FLOAT16, int32Data: [0x3c00, 0xc000] }))).toEqual([1, -2])
    expect(Array.from(readTensorAsFloat32({ dims: [2], dataType: TensorDataType.DOUBLE, doubleData: [0.5, 4] }))).toEqual([0.5, 4])
    expect(readTensorAsNumbers({ dims: [3], dataType: TensorDataType.INT8, int32Data: [-1, 5, 127] })).toEqual([-1, 5, 127])
    expect(readTensorAsNumbers({ dims: [2], dataType: TensorDataType.UINT32, uint64Data: [4294967295, 1] })).toEqual([4294967295, 1])
    expect(readTensorAsNumbers({ dims: [3], dataType: TensorDataType.INT4, int32Data: [0xf7, 0x08] })).toEqual([7, -1, -8])
    const raw = float32Tensor('r', [3], [0.5, -1, 3])
    // An unaligned view, as protobufjs hands out for raw_data inside a larger buffer.
    const shifted = new Uint8Array(13)
    shifted.set(raw.rawData ?? new Uint8Array(), 1)
    expect(Array.from(readTensorAsFloat32({ ...raw, rawData: shifted.subarray(1) }))).toEqual([0.5, -1, 3])
    expect(readTensorStrings({ dims: [2], dataType: TensorDataType.STRING, stringData: [new TextEncoder().encode('a'), new TextEncoder().encode('bé')] })).toEqual(['a', 'bé'])
    expect(tensorRawBytes({ dims: [1], dataType: TensorDataType.INT64, int64Data: [-2] })).toEqual(new Uint8Array([254, 255, 255, 255, 255, 255, 255, 255]))
  })

  it('refuses a payload shorter than its shape', async () => {
    await expectAppError(() => readTensorAsFloat32({ name: 'w', dims: [4], dataType: TensorDataType.FLOAT, rawData: new Uint8Array(8) }), 'model-invalid', /declares 4 elements/)
  })
})

describe('external data', () => {
  function externalModel(location: string, offset: number, length: number): OnnxModel {
    return {
      irVersion: 10,
      opsetImport: [{ domain: '', version: 21 }],
      graph: makeGraph({
        name: 'ext',
        node: [makeNode('Add', ['x', 'w'], ['y'])],
        initializer: [
          {
            name: 'w',
            dims: [3],
            dataType: TensorDataType.FLOAT,
            dataLocation: DataLocation.EXTERNAL,
            externalData: [
              { key: 'location', value: location },
              { key: 'offset', value: String(offset) },
              { key: 'length', value: String(length) },
            ],
          },
        ],
        input: [makeTensorValueInfo('x', TensorDataType.FLOAT, [3])],
        output: [makeTensorValueInfo('y', TensorDataType.FLOAT, [3])],
      }),
    }
  }

  it('loads external tensors from a file next to the model, at their offset, and the result runs', async () => {
    const dir = tempDir()
    const payload = new Uint8Array(16 + 12)
    payload.set(new Uint8Array(Float32Array.from([1, 2, 3]).buffer), 16)
    writeFileSync(join(dir, 'weights.bin'), payload)
    writeFileSync(join(dir, 'model.onnx'), encodeOnnx(externalModel('weights.bin', 16, 12)))
    const raw = await readOnnxFile(join(dir, 'model.onnx'))
    expect(listExternalData(raw)).toEqual([{ location: 'weights.bin', tensorName: 'w', offsetBytes: 16, lengthBytes: 12, hasExplicitLength: true }])
    expect(await statExternalData(raw, dir)).toEqual([{ location: 'weights.bin', sizeBytes: 28 }])
    // onnxruntime reads the same external file, which cross-checks our layout.
    const fromDisk = await (await ort.InferenceSession.create(join(dir, 'model.onnx'))).run({ x: new ort.Tensor('float32', new Float32Array(3), [3]) })
    const model = await loadExternalData(raw, dir)
    const w = model.graph?.initializer[0]
    expect(w?.dataLocation).toBe(DataLocation.DEFAULT)
    expect(w && Array.from(readTensorAsFloat32(w))).toEqual([1, 2, 3])
    const session = await ort.InferenceSession.create(encodeOnnx(model))
    const result = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 1, 1]), [3]) })
    expect(Array.from(result.y?.data as Float32Array)).toEqual([2, 3, 4])
    expect(Array.from(fromDisk.y?.data as Float32Array)).toEqual([1, 2, 3])
  })

  it('names the missing file and the tensor', async () => {
    const dir = tempDir()
    await expectAppError(
      () => loadExternalData(externalModel('weights.bin', 0, 12), dir),
      'model-invalid',
      /^External data file weights\.bin referenced by tensor w is missing next to the model$/,
    )
  })

  it('refuses locations that escape the model folder, directly or through a symbolic link', async () => {
    const dir = tempDir()
    const outside = tempDir()
    writeFileSync(join(outside, 'secret.bin'), new Uint8Array(12))
    await expectAppError(() => loadExternalData(externalModel('../secret.bin', 0, 12), dir), 'model-invalid', /outside the model's folder/)
    await expectAppError(() => loadExternalData(externalModel(join(outside, 'secret.bin'), 0, 12), dir), 'model-invalid', /outside the model's folder/)
    symlinkSync(join(outside, 'secret.bin'), join(dir, 'link.bin'))
    await expectAppError(() => loadExternalData(externalModel('link.bin', 0, 12), dir), 'model-invalid', /link to a file outside/)
  })

  it('refuses an external file too short for the tensor', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(8))
    await expectAppError(() => loadExternalData(externalModel('weights.bin', 0, 12), dir), 'model-invalid', /too short for tensor w/)
  })
})

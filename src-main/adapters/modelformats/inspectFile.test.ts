import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tinyClassifierPath } from '../../../fixtures/scripts/generateModels.ts'
import { requireRealModels, type RealModelName } from '../../../fixtures/scripts/realModels.ts'
import { inspectModelFile } from './inspectFile.ts'
import { DataLocation, TensorDataType, encodeOnnx, makeGraph, makeNode, makeTensorValueInfo } from './onnxCodec.ts'

let dir = ''
let realModels: Record<RealModelName, string>
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-inspect-'))
  realModels = await requireRealModels()
}, 240_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('inspectModelFile', () => {
  it('describes the fixture classifier', async () => {
    const inspection = await inspectModelFile(tinyClassifierPath)
    expect(inspection).toMatchObject({
      format: 'onnx',
      irVersion: 8,
      opsets: { '': 13 },
      producerName: 'outpost-fixtures',
      inputs: [{ name: 'features', elementType: 'float32', shape: ['batch', 16] }],
      outputs: [{ name: 'probabilities', elementType: 'float32', shape: ['batch', 4] }],
      nodeCount: 6,
      parameterCount: 16 * 32 + 32 + 32 * 4 + 4,
      parametersByDtype: [{ dtype: 'float32', count: 676, bytes: 2704 }],
      subgraphCount: 0,
      customOps: [],
      warnings: [],
    })
  })

  it('describes the real ONNX models, Silero VAD subgraphs included', async () => {
    const cls = await inspectModelFile(realModels['ocr-cls'])
    expect(cls.opsets).toEqual({ '': 9 })
    expect(cls.inputs[0]).toMatchObject({ name: 'x', elementType: 'float32' })
    expect(cls.inputs[0]?.shape[1]).toBe(3)
    expect(cls.outputs[0]?.name).toBe('softmax_0.tmp_0')
    expect(cls.parameterCount).toBeGreaterThan(100_000)

    const vad = await inspectModelFile(realModels['silero-vad'])
    expect(vad.opsets).toEqual({ '': 16 })
    expect(vad.inputs.map((i) => [i.name, i.elementType])).toEqual([
      ['input', 'float32'],
      ['state', 'float32'],
      ['sr', 'int64'],
    ])
    expect(vad.subgraphCount).toBeGreaterThan(2)
    const insideBranches = vad.opHistogram.filter((o) => o.path.startsWith('main/If_0.')).reduce((sum, o) => sum + o.count, 0)
    expect(insideBranches).toBeGreaterThan(vad.opHistogram.filter((o) => o.path === 'main').reduce((sum, o) => sum + o.count, 0))
    expect(vad.opHistogram.some((o) => o.opType === 'LSTM' && o.path.includes('/'))).toBe(true)

    const det = await inspectModelFile(realModels['ocr-det'])
    expect(det.opHistogram.find((o) => o.opType === 'Resize')?.count).toBeGreaterThan(0)
  })

  it('describes the real TFLite models and flags the custom op', async () => {
    const face = await inspectModelFile(realModels['face-detection'])
    expect(face).toMatchObject({ format: 'tflite', formatVersion: 3, inputs: [{ name: 'input', elementType: 'float32', shape: [1, 128, 128, 3] }] })
    expect(face.outputs.map((o) => o.name)).toEqual(['regressors', 'classificators'])
    const selfie = await inspectModelFile(realModels['selfie-segmentation'])
    expect(selfie.customOps.map((c) => c.opType)).toEqual(['Convolution2DTransposeBias'])
    expect(selfie.parametersByDtype[0]?.dtype).toBe('float16')
  })

  it('sizes external data from disk and names a missing file', async () => {
    const modelDir = mkdtempSync(join(dir, 'ext-'))
    const model = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        name: 'ext',
        node: [makeNode('Add', ['x', 'w'], ['y'])],
        initializer: [
          {
            name: 'w',
            dims: [2],
            dataType: TensorDataType.FLOAT,
            dataLocation: DataLocation.EXTERNAL,
            externalData: [{ key: 'location', value: 'w.bin' }],
          },
        ],
        input: [makeTensorValueInfo('x', TensorDataType.FLOAT, [2])],
        output: [makeTensorValueInfo('y', TensorDataType.FLOAT, [2])],
      }),
    }
    const path = join(modelDir, 'model.onnx')
    writeFileSync(path, encodeOnnx(model))
    await expect(inspectModelFile(path)).rejects.toMatchObject({
      code: 'model-invalid',
      message: 'External data file w.bin referenced by tensor w is missing next to the model',
    })
    writeFileSync(join(modelDir, 'w.bin'), new Uint8Array(4096))
    const inspection = await inspectModelFile(path)
    expect(inspection.externalDataFiles).toEqual([{ location: 'w.bin', sizeBytes: 4096, tensorCount: 1 }])
    expect(inspection.parametersByDtype).toEqual([{ dtype: 'float32', count: 2, bytes: 8 }])
  })

  it('refuses missing, damaged and mislabelled files with a code', async () => {
    await expect(inspectModelFile(join(dir, 'nothing.onnx'))).rejects.toMatchObject({ code: 'not-found' })
    const fake = join(dir, 'fake.tflite')
    writeFileSync(fake, readFileSync(tinyClassifierPath))
    await expect(inspectModelFile(fake)).rejects.toMatchObject({ code: 'model-invalid', message: expect.stringMatching(/TFL3/) })
    const truncated = join(dir, 'truncated.onnx')
    writeFileSync(truncated, readFileSync(realModels['ocr-cls']).subarray(0, 5000))
    await expect(inspectModelFile(truncated)).rejects.toMatchObject({ code: 'model-invalid' })
    const truncatedTflite = join(dir, 'truncated.tflite')
    writeFileSync(truncatedTflite, readFileSync(realModels['face-detection']).subarray(0, 4000))
    await expect(inspectModelFile(truncatedTflite)).rejects.toMatchObject({ code: 'model-invalid' })
  })
})

import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { tinyClassifierPath } from '../../../fixtures/scripts/generateModels.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { createOnnxModelInspector, oneLineReason } from './onnxModelInspector.ts'

describe('onnxModelInspector', () => {
  const inspector = createOnnxModelInspector()

  it('reads the inputs and outputs of the fixture classifier', async () => {
    const description = await inspector.inspect(readFileSync(tinyClassifierPath), 'tiny-classifier.onnx')
    expect(description).toEqual({
      format: 'onnx',
      inputs: [{ name: 'features', elementType: 'float32', shape: ['batch', 16] }],
      outputs: [{ name: 'probabilities', elementType: 'float32', shape: ['batch', 4] }],
    })
  })

  it('rejects garbage bytes as model-invalid with a one-line reason', async () => {
    const error = await inspector.inspect(Buffer.from('definitely not a protobuf model \u0000\u0001\u0002'), 'junk.onnx').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('model-invalid')
    expect((error as AppError).message).toMatch(/^junk\.onnx is not a model onnxruntime can load: \S/)
    expect((error as AppError).message).not.toContain('\n')
  })

  it('rejects an empty file and a truncated model', async () => {
    await expect(inspector.inspect(new Uint8Array(), 'empty.onnx')).rejects.toMatchObject({ code: 'model-invalid' })
    const truncated = readFileSync(tinyClassifierPath).subarray(0, 200)
    await expect(inspector.inspect(truncated, 'cut.onnx')).rejects.toMatchObject({ code: 'model-invalid' })
  })

  it('names TensorFlow Lite files as unsupported', async () => {
    const tflite = Buffer.concat([Buffer.from([0x1c, 0, 0, 0]), Buffer.from('TFL3'), Buffer.alloc(64)])
    await expect(inspector.inspect(tflite, 'model.bin')).rejects.toMatchObject({ code: 'model-unsupported' })
    await expect(inspector.inspect(Buffer.alloc(64), 'model.tflite')).rejects.toMatchObject({ code: 'model-unsupported' })
  })

  it('keeps the first non-empty line of a reason', () => {
    expect(oneLineReason(new Error('\n  first line \nsecond'))).toBe('first line')
    expect(oneLineReason('x'.repeat(400))).toHaveLength(300)
  })
})

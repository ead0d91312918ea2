import { describe, expect, it } from 'vitest'
import { buildChunkList, chunkCount, chunkRange, modelIdFromSha256, modelNameFromFileName } from './chunkList.ts'

describe('chunkList', () => {
  it.each([
    [1, 4, 1],
    [4, 4, 1],
    [5, 4, 2],
    [8, 4, 2],
    [9, 4, 3],
  ])('cuts %i bytes into chunks of %i: %i chunks', (sizeBytes, chunkSizeBytes, expected) => {
    expect(chunkCount(sizeBytes, chunkSizeBytes)).toBe(expected)
  })

  it('gives the last chunk only the remaining bytes', () => {
    expect(chunkRange(0, 10, 4)).toEqual({ offsetBytes: 0, lengthBytes: 4 })
    expect(chunkRange(2, 10, 4)).toEqual({ offsetBytes: 8, lengthBytes: 2 })
  })

  it.each([-1, 3, 1.5])('has no chunk %s in a 10-byte artifact of 4-byte chunks', (index) => {
    expect(chunkRange(index, 10, 4)).toBeUndefined()
  })

  it('keeps the canonical key order that devices hash', () => {
    const list = buildChunkList('a'.repeat(64), 4, ['b'.repeat(64)])
    expect(Object.keys(list)).toEqual(['v', 'sha256', 'chunkSizeBytes', 'chunks'])
  })

  it('derives model ids and names', () => {
    expect(modelIdFromSha256('0123456789abcdef'.repeat(4))).toBe('m-0123456789ab')
    expect(modelNameFromFileName('/tmp/x/tiny-classifier.onnx')).toBe('tiny-classifier')
    expect(modelNameFromFileName('C:\\m\\resnet.v2.onnx')).toBe('resnet.v2')
    expect(modelNameFromFileName('.onnx')).toBe('.onnx')
  })
})

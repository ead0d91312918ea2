import { describe, expect, it } from 'vitest'
import type { ArtifactRef } from '../../../src-shared/protocol/messages.ts'
import { chunkByteRange, chunkListMismatch, expectedChunkCount, planChunkRequests, verifiedByteCount, verifiedFraction } from './chunkTransfer.ts'

describe('chunk transfer planning', () => {
  it('computes byte ranges with a short last chunk', () => {
    expect(chunkByteRange(0, 100, 250)).toEqual({ offsetBytes: 0, lengthBytes: 100 })
    expect(chunkByteRange(2, 100, 250)).toEqual({ offsetBytes: 200, lengthBytes: 50 })
    expect(expectedChunkCount(250, 100)).toBe(3)
    expect(expectedChunkCount(200, 100)).toBe(2)
  })

  it('keeps at most the window outstanding, lowest missing indices first', () => {
    expect(planChunkRequests({ chunkCount: 20, verified: new Set(), outstanding: new Set(), windowSize: 8 })).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(planChunkRequests({ chunkCount: 20, verified: new Set([0, 1, 3]), outstanding: new Set([2, 4, 5, 6, 7, 8, 9]), windowSize: 8 })).toEqual([10])
    expect(planChunkRequests({ chunkCount: 5, verified: new Set([0, 1, 2, 3]), outstanding: new Set(), windowSize: 8 })).toEqual([4])
    expect(planChunkRequests({ chunkCount: 5, verified: new Set([0, 1, 2, 3, 4]), outstanding: new Set(), windowSize: 8 })).toEqual([])
  })

  it('reports the verified fraction by bytes', () => {
    expect(verifiedFraction(new Set([0]), 100, 250)).toBeCloseTo(0.4)
    expect(verifiedFraction(new Set([2]), 100, 250)).toBeCloseTo(0.2)
    expect(verifiedFraction(new Set([0, 1, 2]), 100, 250)).toBe(1)
    expect(verifiedByteCount(new Set([1, 2]), 100, 250)).toBe(150)
  })

  it('rejects a chunk list that does not describe the directive artifact', () => {
    const sha = 'a'.repeat(64)
    const artifact: ArtifactRef = {
      modelId: 'm-0123456789ab',
      name: 'n',
      version: '1',
      format: 'onnx',
      sha256: sha,
      sizeBytes: 250,
      chunkSizeBytes: 100,
      chunkCount: 3,
      chunkListSha256: 'c'.repeat(64),
    }
    const list = { v: 1 as const, sha256: sha, chunkSizeBytes: 100, chunks: ['1', '2', '3'].map((digit) => digit.repeat(64)) }
    expect(chunkListMismatch(artifact, list)).toBeUndefined()
    expect(chunkListMismatch(artifact, { ...list, sha256: 'b'.repeat(64) })).toMatch(/another artifact/)
    expect(chunkListMismatch(artifact, { ...list, chunkSizeBytes: 50 })).toMatch(/chunk size/)
    expect(chunkListMismatch(artifact, { ...list, chunks: list.chunks.slice(1) })).toMatch(/length/)
    expect(chunkListMismatch({ ...artifact, chunkCount: 4 }, { ...list, chunks: [...list.chunks, 'd'.repeat(64)] })).toMatch(/does not match its size/)
  })
})

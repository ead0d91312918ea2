import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireRealModels, type RealModelName } from '../../../fixtures/scripts/realModels.ts'
import { compressArtifact, compressArtifactFile, decompressArtifact } from './compressArtifact.ts'

let dir = ''
let realModels: Record<RealModelName, string>
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-compress-'))
  realModels = await requireRealModels(['silero-vad'])
}, 240_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('compressArtifact', () => {
  it('round-trips a real model through brotli and reports the ratio', async () => {
    const bytes = readFileSync(realModels['silero-vad'])
    const result = await compressArtifact(bytes)
    process.stdout.write(`brotli silero-vad: ${result.originalSizeBytes} -> ${result.compressedSizeBytes} bytes (${result.ratio.toFixed(3)}x)\n`)
    expect(result.algorithm).toBe('brotli')
    expect(result.ratio).toBeLessThan(1)
    expect(result.ratio).toBeCloseTo(result.compressedSizeBytes / bytes.length, 10)
    const restored = await decompressArtifact(result.compressed, { maxOutputBytes: bytes.length })
    expect(Buffer.compare(Buffer.from(restored), bytes)).toBe(0)
  })

  it('compresses highly redundant bytes far below their size, and writes files atomically', async () => {
    const zeros = new Uint8Array(1 << 20)
    const result = await compressArtifact(zeros, { quality: 5 })
    expect(result.ratio).toBeLessThan(0.01)
    const out = join(dir, 'model.onnx.br')
    const written = await compressArtifactFile(realModels['silero-vad'], out)
    expect(readFileSync(out).length).toBe(written.compressedSizeBytes)
    await expect(compressArtifactFile(realModels['silero-vad'], realModels['silero-vad'])).rejects.toMatchObject({ code: 'invalid-input' })
  })

  it('refuses damaged input, output beyond the declared size, and bad quality values', async () => {
    const { compressed } = await compressArtifact(new Uint8Array(100_000).fill(7))
    await expect(decompressArtifact(compressed, { maxOutputBytes: 1000 })).rejects.toMatchObject({ code: 'artifact-corrupt' })
    const damaged = Uint8Array.from(compressed)
    damaged[Math.floor(damaged.length / 2)] = (damaged[Math.floor(damaged.length / 2)] ?? 0) ^ 0xff
    damaged[0] = 0xff
    await expect(decompressArtifact(damaged.subarray(0, damaged.length - 3), { maxOutputBytes: 200_000 })).rejects.toMatchObject({ code: 'artifact-corrupt' })
    await expect(compressArtifact(new Uint8Array(1), { quality: 12 })).rejects.toMatchObject({ code: 'invalid-input' })
  })
})

import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tinyClassifierPath } from '../../../fixtures/scripts/generateModels.ts'
import { requireRealModels, type RealModelName } from '../../../fixtures/scripts/realModels.ts'
import { seededRandom } from '../../../fixtures/scripts/tinyClassifier.ts'
import { decodeOnnx } from './onnxCodec.ts'
import { optimizeGraphFile } from './optimizeGraph.ts'

let dir = ''
let realModels: Record<RealModelName, string>
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-graph-'))
  realModels = await requireRealModels(['ocr-cls'])
}, 240_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function maxDifference(a: string, b: string, feeds: Record<string, ort.Tensor>): Promise<number> {
  const ra = await (await ort.InferenceSession.create(a)).run(feeds)
  const rb = await (await ort.InferenceSession.create(b)).run(feeds)
  let max = 0
  for (const name of Object.keys(ra)) {
    const da = ra[name]?.data as Float32Array
    const db = rb[name]?.data as Float32Array
    for (let i = 0; i < da.length; i++) max = Math.max(max, Math.abs((da[i] ?? 0) - (db[i] ?? 0)))
  }
  return max
}

describe('optimizeGraphFile', () => {
  it('writes an extended-level optimized fixture that loads and computes the same outputs', async () => {
    const out = join(dir, 'tiny-graph.onnx')
    const before = createHash('sha256').update(readFileSync(tinyClassifierPath)).digest('hex')
    const result = await optimizeGraphFile(tinyClassifierPath, out)
    expect(createHash('sha256').update(readFileSync(tinyClassifierPath)).digest('hex')).toBe(before)
    expect(result.report).toMatchObject({ level: 'extended', sourceNodeCount: 6 })
    // MatMul+Add pairs fuse into Gemm-like nodes, so the optimized graph is smaller.
    expect(result.report.outputNodeCount).toBeLessThan(6)
    expect(decodeOnnx(readFileSync(out)).graph?.node.length).toBe(result.report.outputNodeCount)
    const random = seededRandom(5)
    const features = new ort.Tensor('float32', Float32Array.from({ length: 32 }, () => random() * 2 - 1), [2, 16])
    expect(await maxDifference(tinyClassifierPath, out, { features })).toBeLessThan(1e-5)
  })

  it('optimizes the PaddleOCR classifier (BatchNormalization folded into Conv) with the same outputs', { timeout: 120_000 }, async () => {
    const out = join(dir, 'ocr-cls-graph.onnx')
    const result = await optimizeGraphFile(realModels['ocr-cls'], out)
    process.stdout.write(`graph ocr-cls: ${result.sourceSizeBytes} -> ${result.outputSizeBytes} bytes, ${result.report.sourceNodeCount} -> ${result.report.outputNodeCount} nodes\n`)
    expect(result.report.outputNodeCount).toBeLessThan(result.report.sourceNodeCount)
    expect(decodeOnnx(readFileSync(out)).graph?.node.some((n) => n.opType === 'BatchNormalization')).toBe(false)
    const random = seededRandom(11)
    const x = new ort.Tensor('float32', Float32Array.from({ length: 3 * 48 * 192 }, () => random()), [1, 3, 48, 192])
    expect(await maxDifference(realModels['ocr-cls'], out, { x })).toBeLessThan(1e-4)
  })

  it('leaves no output or temp file when the source is damaged or the output folder is missing', async () => {
    const damaged = join(dir, 'damaged.onnx')
    writeFileSync(damaged, readFileSync(tinyClassifierPath).subarray(0, 300))
    const out = join(dir, 'never.onnx')
    await expect(optimizeGraphFile(damaged, out)).rejects.toMatchObject({ code: 'model-invalid' })
    expect(existsSync(out)).toBe(false)
    await expect(optimizeGraphFile(tinyClassifierPath, join(dir, 'missing-folder', 'x.onnx'))).rejects.toHaveProperty('code')
    await expect(optimizeGraphFile(tinyClassifierPath, tinyClassifierPath)).rejects.toMatchObject({ code: 'invalid-input' })
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })
})

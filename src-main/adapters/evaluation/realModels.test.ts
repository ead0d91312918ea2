/**
 * The recipes on real third-party models (fetched by fixtures/scripts/realModels.ts, never skipped silently):
 * PaddleOCR's text direction classifier through int8-static, Silero VAD v5 through int8-dynamic.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireRealModels } from '../../../fixtures/scripts/realModels.ts'
import { quantizeDynamic } from '../../core/quantization/quantizeDynamic.ts'
import { decodeOnnx, encodeOnnx } from '../modelformats/onnxCodec.ts'
import { evaluateModels } from './evaluateModels.ts'
import { quantizeStaticCalibrated } from './quantizeCalibrated.ts'
import { optimizedOpCounts, renderTextLines, runOnnxChecker, synthesizeSpeechLikeAudio } from './testModels.ts'

let workDir = ''
let paths: Awaited<ReturnType<typeof requireRealModels>>

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'outpost-real-quantize-'))
  paths = await requireRealModels(['ocr-cls', 'silero-vad'])
}, 240_000)

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true })
})

describe('int8-static on the PaddleOCR direction classifier (opset 9)', () => {
  it('is at most 0.35x the fp32 size, loads, runs as QLinearConv and keeps the rotation decisions', async () => {
    const fp32 = readFileSync(paths['ocr-cls'])
    const calibration = renderTextLines(['Invoice 1284', 'Hello world', 'Quarterly report', 'Total: 42.50', 'Shipping address', 'Order #55812', 'Thank you!', 'Delivery date'])
    const { model, report } = await quantizeStaticCalibrated(decodeOnnx(fp32), new Map([['x', calibration.images]]), { method: 'percentile' })
    // Opset 9 has no QuantizeLinear: the recipe raises it to 10, converting the attribute-form Slice on the way.
    expect(report.opsetUpgrade).toEqual({ fromOpset: 9, toOpset: 10 })
    expect(report.quantizedNodes).toHaveLength(54)
    const int8 = encodeOnnx(model)
    const path = join(workDir, 'ocr-cls-int8.onnx')
    writeFileSync(path, int8)
    expect(int8.length / fp32.length).toBeLessThanOrEqual(0.35)
    expect((await optimizedOpCounts(int8, workDir)).QLinearConv).toBe(53)
    const heldOut = renderTextLines(['Payment due', 'Customer service', 'Room 204', 'Exit only', 'Open 9-17', 'Batch 7731', 'Serial X9-22', 'Keep dry'])
    const result = await evaluateModels(fp32, int8, { inputs: new Map([['x', heldOut.images]]), labels: heldOut.labels, batchSize: 8, warmupRuns: 1, timedRuns: 5 })
    expect(result.top1Agreement).toBeGreaterThanOrEqual(0.9)
    process.stdout.write(
      `ocr-cls int8-static: size ${result.sizeRatio.toFixed(3)}x, agreement ${result.top1Agreement}, accuracy ${result.accuracy?.baseline} → ${result.accuracy?.candidate}, ` +
        `p50 ${result.latencyP50Ratio.toFixed(2)}x\n`,
    )
    const checker = runOnnxChecker([path])
    if (checker !== undefined) expect(checker[path]).toBeNull()
  })
})

describe('int8-dynamic on Silero VAD v5 (If subgraphs, Conv and LSTM)', () => {
  /** Streams 512-sample frames with 64 samples of context, carrying each model's own state like a real caller. */
  async function speechProbabilities(modelBytes: Uint8Array, audio: Float32Array): Promise<number[]> {
    const session = await ort.InferenceSession.create(modelBytes)
    let state: Float32Array = new Float32Array(2 * 128)
    const context = new Float32Array(64)
    const probabilities: number[] = []
    const sampleRate = new ort.Tensor('int64', BigInt64Array.of(16000n), [])
    for (let start = 0; start + 512 <= audio.length; start += 512) {
      const input = new Float32Array(576)
      input.set(context)
      input.set(audio.subarray(start, start + 512), 64)
      context.set(audio.subarray(start + 448, start + 512))
      const outputs = await session.run({ input: new ort.Tensor('float32', input, [1, 576]), state: new ort.Tensor('float32', state, [2, 1, 128]), sr: sampleRate })
      state = outputs.stateN?.data as Float32Array
      probabilities.push((outputs.output?.data as Float32Array)[0] ?? 0)
    }
    await session.release()
    return probabilities
  }

  it('quantizes the Convs and LSTMs inside the If branches and agrees with fp32 on at least 98% of frames', async () => {
    const fp32 = readFileSync(paths['silero-vad'])
    const { model, report } = quantizeDynamic(decodeOnnx(fp32), { perChannel: true })
    expect(report.quantizedNodes.filter((record) => record.emitted === 'ConvInteger')).toHaveLength(12)
    expect(report.quantizedNodes.filter((record) => record.emitted === 'DynamicQuantizeLSTM')).toHaveLength(4)
    expect(report.quantizedNodes.every((record) => record.graphPath.startsWith('main/If_0.'))).toBe(true)
    const int8 = encodeOnnx(model)
    const path = join(workDir, 'silero-int8.onnx')
    writeFileSync(path, int8)
    const audio = synthesizeSpeechLikeAudio(12, 31)
    const [expected, actual] = [await speechProbabilities(fp32, audio), await speechProbabilities(int8, audio)]
    const speechFrames = expected.filter((probability) => probability >= 0.5).length
    // The signal must exercise both decisions, or agreement would be trivial.
    expect(speechFrames).toBeGreaterThan(expected.length * 0.15)
    expect(speechFrames).toBeLessThan(expected.length * 0.85)
    const agreement = expected.filter((probability, index) => probability >= 0.5 === (actual[index] ?? 0) >= 0.5).length / expected.length
    expect(agreement).toBeGreaterThanOrEqual(0.98)
    process.stdout.write(`silero-vad int8-dynamic: size ${(int8.length / fp32.length).toFixed(3)}x, frame agreement ${agreement.toFixed(4)} over ${expected.length} frames\n`)
    const checker = runOnnxChecker([path])
    if (checker !== undefined) expect(checker[path]).toBeNull()
  })
})

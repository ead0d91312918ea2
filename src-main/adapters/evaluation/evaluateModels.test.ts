/**
 * Calibration collection and model evaluation against onnxruntime, on the tiny classifier fixture, with inputs and
 * labels read from .npz/.npy files the way the CLI reads them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TINY_CLASSIFIER, seededRandom } from '../../../fixtures/scripts/tinyClassifier.ts'
import type { PackagingProgress } from '../../../src-shared/domain/evaluation.ts'
import { EvaluationResult } from '../../../src-shared/domain/evaluation.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { evaluateReleaseReadiness } from '../../core/evaluation/releaseReadiness.ts'
import type { OnnxGraph } from '../../core/packaging/onnxModel.ts'
import { readTensorAsFloat32 } from '../../core/packaging/tensorData.ts'
import { quantizeDynamic } from '../../core/quantization/quantizeDynamic.ts'
import { decodeOnnx, encodeOnnx } from '../modelformats/onnxCodec.ts'
import type { NdArray } from '../numpy/npy.ts'
import { readNumpyFile, writeNpyFile, writeNpzFile } from '../numpy/numpyFile.ts'
import { collectActivationRanges } from './collectActivations.ts'
import { evaluateModels } from './evaluateModels.ts'
import { uniformValues } from './testModels.ts'

const fp32 = readFileSync(join(import.meta.dirname, '../../../fixtures/models/tiny-classifier.onnx'))
const tiny = decodeOnnx(fp32)
const rows = 40
const features: NdArray = { dtype: 'float32', shape: [rows, TINY_CLASSIFIER.featureCount], data: uniformValues(rows * TINY_CLASSIFIER.featureCount, 2, seededRandom(17)) }
let workDir = ''

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'outpost-evaluate-'))
})

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true })
})

async function expectAppError(promise: Promise<unknown>, code: string, pattern: RegExp) {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe(code)
    expect((error as AppError).message).toMatch(pattern)
    return
  }
  throw new Error(`expected AppError ${code}`)
}

/** h1 = features · w1, computed here in float64 from the fixture's own weights. */
function firstLayerRange(): { min: number; max: number } {
  const graph = tiny.graph as OnnxGraph
  const weights = readTensorAsFloat32(graph.initializer.find((tensor) => tensor.name === 'w1') ?? graph.initializer[0] ?? { dims: [] })
  const input = features.data as Float32Array
  const { featureCount, hiddenCount } = TINY_CLASSIFIER
  let min = Infinity
  let max = -Infinity
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < hiddenCount; column++) {
      let sum = 0
      for (let k = 0; k < featureCount; k++) sum += (input[row * featureCount + k] ?? 0) * (weights[k * hiddenCount + column] ?? 0)
      min = Math.min(min, sum)
      max = Math.max(max, sum)
    }
  }
  return { min, max }
}

describe('collectActivationRanges', () => {
  it('measures inputs from the feeds and intermediate tensors from the augmented model', async () => {
    const progress: PackagingProgress[] = []
    const ranges = await collectActivationRanges(tiny, ['features', 'h1'], new Map([['features', features]]), {
      method: 'minmax',
      batchSize: 16,
      onProgress: (event) => progress.push(event),
    })
    const data = Array.from(features.data as Float32Array)
    expect(ranges.get('features')).toEqual({ min: Math.min(...data), max: Math.max(...data) })
    const expected = firstLayerRange()
    expect(ranges.get('h1')?.min).toBeCloseTo(expected.min, 4)
    expect(ranges.get('h1')?.max).toBeCloseTo(expected.max, 4)
    // 40 rows in batches of 16: three runs, one progress event each.
    expect(progress).toEqual([1, 2, 3].map((completed) => ({ phase: 'calibration-range', completed, total: 3 })))
  })

  it('runs a second, histogram pass for percentile and stays inside the observed range', async () => {
    const phases = new Set<string>()
    const ranges = await collectActivationRanges(tiny, ['h1'], new Map([['features', features]]), { method: 'percentile', percentile: 99, onProgress: (event) => phases.add(event.phase) })
    const expected = firstLayerRange()
    const range = ranges.get('h1')
    expect(range?.min).toBeGreaterThanOrEqual(expected.min - 1e-4)
    expect(range?.max).toBeLessThanOrEqual(expected.max + 1e-4)
    expect(range?.max).toBeLessThan(expected.max)
    expect([...phases]).toEqual(['calibration-range', 'calibration-histogram'])
  })

  it('rejects calibration arrays that do not fit the model, naming the input and both shapes', async () => {
    const wrong: NdArray = { dtype: 'float32', shape: [4, 15], data: new Float32Array(60) }
    await expectAppError(collectActivationRanges(tiny, ['h1'], new Map([['features', wrong]]), { method: 'minmax', source: 'calib.npz' }), 'invalid-input', /calib\.npz: the array 'features' \[4, 15\] does not fit the model input 'features' \[batch, 16\]/)
  })
})

describe('evaluateModels', () => {
  it('finds no difference between a model and itself', async () => {
    const result = await evaluateModels(fp32, fp32, { inputs: new Map([['features', features]]), warmupRuns: 1, timedRuns: 4 })
    expect(EvaluationResult.parse(result)).toEqual(result)
    expect(result.sampleCount).toBe(rows)
    expect(result.sizeRatio).toBe(1)
    expect(result.top1Agreement).toBe(1)
    expect(result.outputs[0]).toMatchObject({ name: 'probabilities', maxAbsError: 0, meanAbsError: 0, decisionKind: 'argmax', decisionCount: rows })
    expect(result.outputs[0]?.cosineSimilarity).toBeCloseTo(1, 12)
    expect(result.baseline.latency.runs).toBe(4)
    expect(result.candidate.latency.samplesMs).toHaveLength(4)
  })

  it('compares the int8 model read from .npz inputs and .npy labels, and gates its release', async () => {
    const int8 = encodeOnnx(quantizeDynamic(tiny).model)
    const labels: NdArray = { dtype: 'int64', shape: [rows], data: BigInt64Array.from({ length: rows }, (_, index) => BigInt(index % TINY_CLASSIFIER.classCount)) }
    await writeNpzFile(join(workDir, 'inputs.npz'), { features }, { compress: true })
    await writeNpyFile(join(workDir, 'labels.npy'), labels)
    const inputs = await readNumpyFile(join(workDir, 'inputs.npz'))
    const labelArray = (await readNumpyFile(join(workDir, 'labels.npy'))).get('labels') as NdArray
    const result = await evaluateModels(fp32, int8, { inputs, labels: labelArray, batchSize: 7, warmupRuns: 1, timedRuns: 3 })
    expect(result.sizeRatio).toBeLessThan(1)
    expect(result.outputs[0]?.maxAbsError).toBeGreaterThan(0)
    expect(result.outputs[0]?.maxAbsError).toBeLessThan(0.02)
    expect(result.accuracy?.labelCount).toBe(rows)
    expect(result.accuracy?.drop).toBeCloseTo((result.accuracy?.baseline ?? 0) - (result.accuracy?.candidate ?? 0), 12)
    expect(evaluateReleaseReadiness(result, { minAgreement: 0.9 }).isReleaseReady).toBe(true)
    // A perfect-agreement requirement fails only if some decision flipped; either way the verdict matches the number.
    expect(evaluateReleaseReadiness(result, { minAgreement: 1 }).isReleaseReady).toBe(result.top1Agreement === 1)
  })

  it('rejects labels that do not match the number of decisions', async () => {
    const labels: NdArray = { dtype: 'int64', shape: [3], data: BigInt64Array.from([0n, 1n, 2n]) }
    await expectAppError(evaluateModels(fp32, fp32, { inputs: new Map([['features', features]]), labels, timedRuns: 1 }), 'invalid-input', /3 labels but the output 'probabilities' made 40 decisions/)
  })

  it('reports a candidate that onnxruntime cannot load as model-load-failed', async () => {
    await expectAppError(evaluateModels(fp32, Uint8Array.from([1, 2, 3, 4]), { inputs: new Map([['features', features]]) }), 'model-load-failed', /candidate model/)
  })
})

import { describe, expect, it } from 'vitest'
import type { EvaluationResult } from '../../../src-shared/domain/evaluation.ts'
import { EvaluationResult as EvaluationResultSchema } from '../../../src-shared/domain/evaluation.ts'
import { AppError } from '../../../src-shared/errors.ts'
import {
  ERROR_HISTOGRAM_EDGES,
  accumulateOutputComparison,
  compareAccuracy,
  cosine,
  createOutputComparison,
  decisionKindFor,
  finishOutputComparison,
} from './compareOutputs.ts'
import { quantileOfSorted, ratio, summarizeLatency } from './latency.ts'
import { type ModelInputSpec, planInputBatches } from './planInputBatches.ts'
import { evaluateReleaseReadiness } from './releaseReadiness.ts'

describe('compareOutputs', () => {
  it('computes max and mean absolute error, cosine and argmax agreement over streamed batches', () => {
    const state = createOutputComparison('logits')
    // Batch 1: two rows of 3 classes. Row 0 agrees (argmax 0), row 1 flips (baseline 2, candidate 1).
    accumulateOutputComparison(state, [3, 1, 0, 0, 1, 2], [3, 1, 0, 0, 2.5, 2], [2, 3])
    // Batch 2: one row, identical.
    accumulateOutputComparison(state, [0, 5, 1], [0, 5, 1], [1, 3])
    const result = finishOutputComparison(state)
    expect(result.maxAbsError).toBe(1.5)
    expect(result.meanAbsError).toBeCloseTo(1.5 / 9, 12)
    expect(result.decisionKind).toBe('argmax')
    expect(result.agreement).toBeCloseTo(2 / 3, 12)
    expect(result.decisionCount).toBe(3)
    // Row 1: a = (0, 1, 2), b = (0, 2.5, 2): cos = 6.5 / (sqrt(5) * sqrt(10.25)).
    const rowOne = 6.5 / Math.sqrt(5 * 10.25)
    expect(result.minRowCosine).toBeCloseTo(rowOne, 12)
    expect(result.meanRowCosine).toBeCloseTo((1 + rowOne + 1) / 3, 12)
    // Whole output: dot 10 + 6.5 + 26 = 42.5, |a|² = 10 + 5 + 26 = 41, |b|² = 10 + 10.25 + 26 = 46.25.
    expect(result.cosineSimilarity).toBeCloseTo(42.5 / Math.sqrt(41 * 46.25), 12)
    expect(result.baselineMin).toBe(0)
    expect(result.baselineMax).toBe(5)
    expect(result.errorHistogram.reduce((sum, bin) => sum + bin.count, 0)).toBe(9)
    // Eight exact matches land in the first bin [0, 1e-8); 1.5 in [1, 3.16).
    expect(result.errorHistogram[0]).toMatchObject({ lowerBound: 0, count: 8 })
    expect(result.errorHistogram[0]?.upperBound).toBeCloseTo(1e-8, 20)
    const bin = result.errorHistogram.find((candidate) => candidate.lowerBound <= 1.5 && (candidate.upperBound ?? Infinity) > 1.5)
    expect(bin?.count).toBe(1)
    expect(result.errorHistogram.at(-1)?.upperBound).toBeNull()
    expect(ERROR_HISTOGRAM_EDGES).toHaveLength(result.errorHistogram.length - 1)
  })

  it('thresholds single-probability outputs at 0.5 and compares them with labels', () => {
    const state = createOutputComparison('speech')
    accumulateOutputComparison(state, [0.9, 0.2, 0.6, 0.4], [0.8, 0.3, 0.4, 0.45], [4, 1])
    const result = finishOutputComparison(state)
    expect(result.decisionKind).toBe('threshold')
    expect(result.agreement).toBe(0.75)
    expect(compareAccuracy(state, [1, 0, 1, 1])).toEqual({ outputName: 'speech', labelCount: 4, baseline: 0.75, candidate: 0.5, drop: 0.25 })
  })

  it('counts NaN and infinite values apart instead of letting them poison the figures', () => {
    const state = createOutputComparison('y')
    accumulateOutputComparison(state, [1, Number.NaN, 2, 3], [1.5, 0, Infinity, 3], [4, 1])
    const result = finishOutputComparison(state)
    expect(result).toMatchObject({ elementCount: 4, nonFiniteCount: 2, maxAbsError: 0.5, meanAbsError: 0.25 })
  })

  it.each([
    [[8, 10], 'argmax'],
    [[8, 1], 'threshold'],
    [[8, 0], 'none'],
    [[], 'none'],
  ] as const)('shape %o makes %s decisions', (dims, kind) => {
    expect(decisionKindFor(dims)).toBe(kind)
  })

  it('treats two zero vectors as identical and one as orthogonal', () => {
    expect(cosine(0, 0, 0)).toBe(1)
    expect(cosine(0, 0, 4)).toBe(0)
    expect(cosine(-2, 1, 4)).toBe(-1)
  })
})

describe('latency', () => {
  it('interpolates quantiles like numpy.quantile', () => {
    // numpy.quantile([1, 2, 3, 4], 0.5) = 2.5; 0.95 → 3 + 0.85 = 3.85.
    expect(quantileOfSorted([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantileOfSorted([1, 2, 3, 4], 0.95)).toBeCloseTo(3.85, 12)
    expect(quantileOfSorted([], 0.5)).toBe(0)
  })

  it('summarizes unsorted durations', () => {
    const summary = summarizeLatency([5, 1, 3, 2, 4])
    expect(summary).toMatchObject({ runs: 5, p50Ms: 3, minMs: 1, maxMs: 5, meanMs: 3 })
    expect(summary.p95Ms).toBeCloseTo(4.8, 12)
    expect(summary.samplesMs).toEqual([5, 1, 3, 2, 4])
    expect(ratio(1, 4)).toBe(0.25)
    expect(ratio(1, 0)).toBe(0)
  })
})

function aResult(overrides: Partial<EvaluationResult> = {}): EvaluationResult {
  const latency = summarizeLatency([1, 2, 3])
  return {
    sampleCount: 100,
    baseline: { sizeBytes: 1000, latency },
    candidate: { sizeBytes: 250, latency },
    sizeRatio: 0.25,
    latencyP50Ratio: 1,
    outputs: [],
    top1Agreement: 0.995,
    accuracy: { outputName: 'logits', labelCount: 100, baseline: 0.9, candidate: 0.895, drop: 0.005 },
    ...overrides,
  }
}

describe('evaluateReleaseReadiness', () => {
  it.each([
    ['passes when agreement and accuracy are within the gate', aResult(), { minAgreement: 0.99, maxAccuracyDrop: 0.01 }, true, []],
    ['fails below the required agreement', aResult({ top1Agreement: 0.975 }), { minAgreement: 0.99 }, false, [/97\.50%, below the required 99\.00%/]],
    [
      'fails when accuracy drops too far',
      aResult({ accuracy: { outputName: 'logits', labelCount: 100, baseline: 0.9, candidate: 0.86, drop: 0.04 } }),
      { maxAccuracyDrop: 0.01 },
      false,
      [/from 90\.00% to 86\.00% \(4\.00 points\), more than the allowed 1\.00 points/],
    ],
    ['fails closed when agreement cannot be measured', aResult({ top1Agreement: null }), { minAgreement: 0.99 }, false, [/cannot be measured/]],
    ['fails closed when a drop limit is set but no labels were given', aResult({ accuracy: null }), { maxAccuracyDrop: 0.01 }, false, [/without labels/]],
    ['passes with no thresholds set', aResult({ top1Agreement: 0.5 }), {}, true, []],
    ['lists every failed threshold', aResult({ top1Agreement: 0.5, accuracy: null }), { minAgreement: 0.99, maxAccuracyDrop: 0.01 }, false, [/agreement/, /labels/]],
  ] as const)('%s', (_label, result, gate, isReleaseReady, reasons) => {
    const readiness = evaluateReleaseReadiness(result, gate)
    expect(readiness.isReleaseReady).toBe(isReleaseReady)
    expect(readiness.reasons).toHaveLength(reasons.length)
    reasons.forEach((pattern, index) => expect(readiness.reasons[index]).toMatch(pattern))
  })

  it('produces results the wire schema accepts', () => {
    expect(EvaluationResultSchema.parse(aResult())).toEqual(aResult())
  })
})

describe('planInputBatches', () => {
  const image: ModelInputSpec = { name: 'image', elementType: 'float32', shape: ['batch', 3, 4, 4] }
  const sampleRate: ModelInputSpec = { name: 'sr', elementType: 'int64', shape: [] }
  const frame: ModelInputSpec = { name: 'input', elementType: 'float32', shape: [1, 512] }

  function expectInvalid(action: () => unknown, pattern: RegExp) {
    try {
      action()
    } catch (error) {
      expect(error).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('invalid-input')
      expect((error as AppError).message).toMatch(pattern)
      return
    }
    throw new Error('expected invalid-input')
  }

  it('cuts batched rows into runs of batchSize when the first axis is dynamic', () => {
    const plan = planInputBatches([image], new Map([['image', { dtype: 'float64', shape: [10, 3, 4, 4] }]]), { batchSize: 4 })
    expect(plan.runs.map((run) => run[0])).toEqual([
      { input: 'image', array: 'image', kind: 'rows', startRow: 0, rowCount: 4, shape: [4, 3, 4, 4] },
      { input: 'image', array: 'image', kind: 'rows', startRow: 4, rowCount: 4, shape: [4, 3, 4, 4] },
      { input: 'image', array: 'image', kind: 'rows', startRow: 8, rowCount: 2, shape: [2, 3, 4, 4] },
    ])
  })

  it('matches a lone array to a lone input whatever its name', () => {
    expect(planInputBatches([image], new Map([['arr_0', { dtype: 'float32', shape: [2, 3, 4, 4] }]])).runs).toHaveLength(2)
  })

  it('feeds stacked samples one per run and repeats rank-0 inputs', () => {
    const plan = planInputBatches(
      [frame, sampleRate],
      new Map([
        ['input', { dtype: 'float32', shape: [3, 1, 512] }],
        ['sr', { dtype: 'int64', shape: [] }],
      ]),
    )
    expect(plan.runs).toHaveLength(3)
    expect(plan.runs[2]).toEqual([
      { input: 'input', array: 'input', kind: 'stacked', index: 2, shape: [1, 512] },
      { input: 'sr', array: 'sr', kind: 'constant' },
    ])
  })

  it.each([
    ['a shape mismatch, naming the input and both shapes', new Map([['image', { dtype: 'float32', shape: [2, 3, 5, 4] }]]), /'image' \[2, 3, 5, 4\] does not fit the model input 'image' \[batch, 3, 4, 4\]/],
    ['a dtype that cannot feed the input', new Map([['image', { dtype: 'int32', shape: [2, 3, 4, 4] }]]), /dtype int32 cannot feed float32/],
    ['a wrong rank', new Map([['image', { dtype: 'float32', shape: [3, 4, 4] }]]), /needs rank 4 .* or 5/],
  ])('rejects %s', (_label, arrays, pattern) => {
    expectInvalid(() => planInputBatches([image], arrays), pattern)
  })

  it('rejects unknown and missing arrays by name', () => {
    const arrays = new Map([
      ['input', { dtype: 'float32', shape: [3, 1, 512] }],
      ['labels', { dtype: 'int64', shape: [3] }],
    ])
    expectInvalid(() => planInputBatches([frame, sampleRate], arrays), /array 'labels' that is not a model input \(the model's inputs are: input, sr\)/)
    expectInvalid(() => planInputBatches([frame, sampleRate], new Map([['input', { dtype: 'float32', shape: [3, 1, 512] }]])), /no array for the model input 'sr' \[\]/)
  })

  it('rejects arrays that disagree on the number of samples', () => {
    const twoInputs: ModelInputSpec[] = [image, { name: 'mask', elementType: 'float32', shape: ['batch', 4] }]
    const arrays = new Map([
      ['image', { dtype: 'float32', shape: [4, 3, 4, 4] }],
      ['mask', { dtype: 'float32', shape: [6, 4] }],
    ])
    expectInvalid(() => planInputBatches(twoInputs, arrays), /different numbers of samples/)
  })

  it('requires a fixed first axis to divide the rows', () => {
    expectInvalid(() => planInputBatches([{ name: 'x', elementType: 'float32', shape: [2, 8] }], new Map([['x', { dtype: 'float32', shape: [5, 8] }]])), /multiple of 2/)
  })
})

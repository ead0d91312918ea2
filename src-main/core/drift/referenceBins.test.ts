import { describe, expect, it } from 'vitest'
import { DriftReference } from '../../../src-shared/domain/drift.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { binFeature, buildDriftReference, classEdges, quantileEdges, quantileOfSorted } from './referenceBins.ts'

describe('quantileEdges', () => {
  it('puts binCount-1 inner edges at the quantiles, so each bin holds about the same share', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i)
    const edges = quantileEdges(values, 10)
    expect(edges).toHaveLength(9)
    expect(edges[0]).toBeCloseTo(99.9, 6)
    const feature = binFeature({ name: 'x', binCount: 10 }, values)
    expect(feature.reference_counts).toHaveLength(10)
    for (const count of feature.reference_counts) expect(count).toBeGreaterThanOrEqual(99)
  })

  it('interpolates like numpy.quantile', () => {
    expect(quantileOfSorted([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantileOfSorted([1, 2, 3, 4], 1 / 3)).toBeCloseTo(2, 12)
  })

  it('drops repeated edges for heavy ties and keeps one edge for a constant feature', () => {
    const tied = [...new Array<number>(900).fill(0), ...Array.from({ length: 100 }, (_, i) => i + 1)]
    const edges = quantileEdges(tied, 10)
    expect(edges.every((edge, i) => i === 0 || edge > (edges[i - 1] ?? edge))).toBe(true)
    expect(edges[0]).toBe(0)
    expect(quantileEdges([3, 3, 3], 10)).toEqual([3])
  })

  it('ignores NaN and infinities, and refuses a feature with no finite value or a bad bin count', () => {
    expect(quantileEdges([Number.NaN, 1, 2, Number.POSITIVE_INFINITY, 3], 2)).toEqual([2])
    expect(() => quantileEdges([Number.NaN], 10)).toThrow(AppError)
    expect(() => quantileEdges([1, 2], 1)).toThrow(/2 to 64 bins/)
  })
})

describe('buildDriftReference', () => {
  it('bins features read from calibration batches and the argmax predictions per class, valid for the manifest', () => {
    const features = { dims: [3, 2], data: [0.1, 10, 0.2, 20, 0.3, 30] }
    const probabilities = { dims: [3, 3], data: [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8] }
    const reference = buildDriftReference(
      {
        features: [
          { name: 'f0', source: { kind: 'element', input: 'features', index: 0 }, binCount: 2 },
          { name: 'f1', source: { kind: 'element', input: 'features', index: 1 }, binCount: 2 },
        ],
        predictions: { name: 'class', source: { kind: 'argmax', output: 'probabilities' } },
      },
      [{ inputs: { features }, outputs: { probabilities } }],
    )
    expect(DriftReference.safeParse(reference).success).toBe(true)
    expect(reference.features.map((feature) => feature.bin_edges)).toEqual([[0.2], [20]])
    expect(reference.features[0]?.reference_counts).toEqual([1, 2])
    expect(reference.predictions?.bin_edges).toEqual(classEdges(3))
    expect(reference.predictions?.reference_counts).toEqual([1, 1, 1])
  })

  it('says which feature it cannot read', () => {
    expect(() =>
      buildDriftReference({ features: [{ name: 'f9', source: { kind: 'element', input: 'features', index: 9 } }] }, [
        { inputs: { features: { dims: [1, 2], data: [1, 2] } }, outputs: {} },
      ]),
    ).toThrow(/f9/)
  })
})

import { describe, expect, it } from 'vitest'
import { binCentres, jensenShannonDistance, populationStabilityIndex, PSI_EPSILON, wassersteinDistanceBinned } from './metrics.ts'

describe('populationStabilityIndex', () => {
  it('is 0 for identical shares, whatever the totals', () => {
    expect(populationStabilityIndex([10, 20, 30], [100, 200, 300])).toBeCloseTo(0, 12)
  })

  it('sums (l - r) ln(l / r) over shares', () => {
    const expected = (0.5 - 0.25) * Math.log(0.5 / 0.25) + (0.5 - 0.75) * Math.log(0.5 / 0.75)
    expect(populationStabilityIndex([25, 75], [50, 50])).toBeCloseTo(expected, 12)
  })

  it('replaces an empty bin share by epsilon instead of dividing by zero', () => {
    const expected = (PSI_EPSILON - 0.5) * Math.log(PSI_EPSILON / 0.5) + (1 - 0.5) * Math.log(1 / 0.5)
    expect(populationStabilityIndex([50, 50], [0, 10])).toBeCloseTo(expected, 12)
  })

  it('is NaN when a side counted nothing', () => {
    expect(populationStabilityIndex([0, 0], [1, 2])).toBeNaN()
    expect(populationStabilityIndex([1, 2], [0, 0])).toBeNaN()
  })
})

describe('jensenShannonDistance', () => {
  it('is 0 for identical shares and sqrt(ln 2) for disjoint ones (natural log)', () => {
    expect(jensenShannonDistance([1, 2, 3], [2, 4, 6])).toBeCloseTo(0, 7)
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(Math.sqrt(Math.log(2)), 12)
  })

  it('is bounded by 1 in base 2', () => {
    expect(jensenShannonDistance([1, 0], [0, 1], 2)).toBeCloseTo(1, 12)
  })
})

describe('binCentres and wassersteinDistanceBinned', () => {
  it('mirrors the neighbouring inner bin for the open outer bins', () => {
    const { centres, span } = binCentres([0, 1, 3])
    expect([...centres]).toEqual([-0.5, 0.5, 2, 4])
    expect(span).toBe(3)
  })

  it('uses e ± 0.5 and span 1 for a single edge', () => {
    const { centres, span } = binCentres([2])
    expect([...centres]).toEqual([1.5, 2.5])
    expect(span).toBe(1)
  })

  it('moves all mass one bin over as that distance over the span', () => {
    // Centres -0.5, 0.5, 1.5, 2.5 over edges 0..2: moving everything from the second to the third bin costs 1 / 2.
    expect(wassersteinDistanceBinned([0, 1, 2], [0, 10, 0, 0], [0, 0, 5, 0])).toBeCloseTo(0.5, 12)
    expect(wassersteinDistanceBinned([0, 1, 2], [1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(0, 12)
  })
})

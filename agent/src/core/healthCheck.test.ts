import { describe, expect, it } from 'vitest'
import type { GoldenCase } from '../../../src-shared/protocol/messages.ts'
import { checkOutputs, compareGolden, goldenFeeds } from './healthCheck.ts'

const declared = [{ name: 'probabilities', elementType: 'float32', shape: ['batch', 4] }]
const probabilities = (values: number[], dims = [1, 4]) => ({ probabilities: { elementType: 'float32', dims, data: Float32Array.from(values) } })

describe('checkOutputs', () => {
  it.each([
    ['healthy outputs', probabilities([0.1, 0.2, 0.3, 0.4]), true, ''],
    ['a missing output', {}, false, /missing/],
    ['a wrong rank', probabilities([0.1, 0.2, 0.3, 0.4], [4]), false, /1 dimensions/],
    ['a wrong fixed dimension', probabilities([0.1, 0.2, 0.3], [1, 3]), false, /declares/],
    ['NaN', probabilities([0.1, Number.NaN, 0.3, 0.4]), false, /NaN/],
    ['Infinity', probabilities([0.1, 0.2, Number.POSITIVE_INFINITY, 0.4]), false, /Infinity/],
  ])('judges %s', (_name, outputs, isHealthy, message) => {
    const verdict = checkOutputs(outputs, declared)
    expect(verdict.isHealthy).toBe(isHealthy)
    if (!verdict.isHealthy) expect(verdict).toMatchObject({ code: 'health-check-failed', message: expect.stringMatching(message) })
  })
})

describe('golden cases', () => {
  const golden: GoldenCase = {
    inputs: { features: { type: 'float32', dims: [1, 2], data: [0.5, 1] } },
    outputs: { probabilities: { type: 'float32', dims: [1, 4], data: [0.1, 0.2, 0.3, 0.4] } },
    absTolerance: 0.01,
    relTolerance: 0.1,
  }

  it('builds feeds from golden inputs, taking the type from the model when absent', () => {
    const feeds = goldenFeeds({ ...golden, inputs: { features: { type: 'float32', dims: [2], data: [1, 2] } } }, [])
    expect(feeds).toEqual({ isUsable: true, feeds: { features: { elementType: 'float32', dims: [2], data: Float32Array.from([1, 2]) } } })
    expect(goldenFeeds({ ...golden, inputs: { features: { type: 'float32', dims: [3], data: [1] } } }, [])).toMatchObject({
      isUsable: false,
      verdict: { isHealthy: false, code: 'golden-mismatch' },
    })
  })

  it('accepts outputs within absolute plus relative tolerance and rejects the rest', () => {
    expect(compareGolden(probabilities([0.1, 0.2, 0.3, 0.4 + 0.049]), golden)).toEqual({ isHealthy: true })
    expect(compareGolden(probabilities([0.1, 0.2, 0.3, 0.4 + 0.06]), golden)).toMatchObject({ isHealthy: false, message: expect.stringMatching(/probabilities\[3\]/) })
    expect(compareGolden(probabilities([0.1, 0.2, 0.3, Number.NaN]), golden).isHealthy).toBe(false)
    expect(compareGolden(probabilities([0.1, 0.2, 0.3, 0.4, 0.5], [1, 5]), golden).isHealthy).toBe(false)
    expect(compareGolden({}, golden).isHealthy).toBe(false)
  })
})

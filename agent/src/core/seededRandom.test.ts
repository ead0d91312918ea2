import { describe, expect, it } from 'vitest'
import { createSeededRandom, seedFromString } from './seededRandom.ts'
import { buildSyntheticInputs, concreteDims } from './syntheticInput.ts'

describe('createSeededRandom', () => {
  it('repeats the same sequence for the same seed', () => {
    const a = createSeededRandom(42)
    const b = createSeededRandom(42)
    const first = Array.from({ length: 100 }, () => a())
    expect(Array.from({ length: 100 }, () => b())).toEqual(first)
  })

  it('gives another sequence for another seed, all in [0, 1)', () => {
    const a = Array.from({ length: 100 }, createSeededRandom(1))
    const b = Array.from({ length: 100 }, createSeededRandom(2))
    expect(a).not.toEqual(b)
    for (const value of [...a, ...b]) {
      expect(value).toBeGreaterThanOrEqual(0)
      expect(value).toBeLessThan(1)
    }
  })

  it('derives stable, distinct seeds from device ids', () => {
    expect(seedFromString('sim-1')).toBe(seedFromString('sim-1'))
    expect(seedFromString('sim-1')).not.toBe(seedFromString('sim-2'))
  })
})

describe('buildSyntheticInputs', () => {
  const inputs = [
    { name: 'features', elementType: 'float32', shape: ['batch', 16] },
    { name: 'ids', elementType: 'int64', shape: [null, 3] },
    { name: 'mask', elementType: 'bool', shape: [2] },
  ]

  it('sets dynamic dimensions to 1 and fills every element deterministically', () => {
    const a = buildSyntheticInputs(inputs, createSeededRandom(7))
    const b = buildSyntheticInputs(inputs, createSeededRandom(7))
    expect(a.features?.dims).toEqual([1, 16])
    expect(a.features?.data).toBeInstanceOf(Float32Array)
    expect(a.ids?.dims).toEqual([1, 3])
    expect(a.ids?.data).toBeInstanceOf(BigInt64Array)
    expect(a.mask?.data).toEqual(Uint8Array.from(a.mask?.data as Uint8Array).map((value) => (value === 0 ? 0 : 1)))
    expect(a).toEqual(b)
    const features = Array.from(a.features?.data as Float32Array)
    expect(features.every((value) => value >= -1 && value < 1)).toBe(true)
    expect(new Set(features).size).toBeGreaterThan(1)
  })

  it('shifts float inputs by the drift shift', () => {
    const shifted = Array.from(buildSyntheticInputs(inputs.slice(0, 1), createSeededRandom(7), 5).features?.data as Float32Array)
    expect(shifted.every((value) => value >= 4 && value < 6)).toBe(true)
  })

  it('maps symbolic, unknown and non-positive dimensions to 1', () => {
    expect(concreteDims(['n', null, -1, 0, 5])).toEqual([1, 1, 1, 1, 5])
  })

  it('rejects element types it cannot generate and shapes too large to hold', () => {
    expect(() => buildSyntheticInputs([{ name: 's', elementType: 'string', shape: [1] }], createSeededRandom(1))).toThrow(/string/)
    expect(() => buildSyntheticInputs([{ name: 'x', elementType: 'float32', shape: [4096, 4096, 4] }], createSeededRandom(1))).toThrow(/elements/)
  })
})

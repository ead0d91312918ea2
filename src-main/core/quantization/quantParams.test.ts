import { describe, expect, it } from 'vitest'
import {
  computeQuantParams,
  dequantizeTensor,
  minimumWeightScaleForBias,
  quantRange,
  quantizeBias,
  quantizeTensor,
  quantizeValue,
  roundHalfToEven,
  storageRange,
} from './quantParams.ts'

describe('roundHalfToEven', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, 0],
    [-1.5, -2],
    [-2.5, -2],
    [2.4999, 2],
    [2.5001, 3],
    [126.5, 126],
    [127.5, 128],
  ])('rounds %d to %d', (value, expected) => {
    expect(roundHalfToEven(value)).toBe(expected)
  })
})

describe('quantRange', () => {
  it.each([
    ['int8', {}, -128, 127],
    ['int8', { symmetric: true }, -127, 127],
    ['int8', { reduceRange: true }, -64, 64],
    ['uint8', {}, 0, 255],
    ['uint8', { symmetric: true }, 0, 254],
    ['uint8', { reduceRange: true }, 0, 127],
  ] as const)('%s %o is [%d, %d]', (type, options, qmin, qmax) => {
    expect(quantRange(type, options)).toEqual({ qmin, qmax })
  })
})

describe('computeQuantParams', () => {
  const uint8 = quantRange('uint8')
  const int8Symmetric = quantRange('int8', { symmetric: true })
  it.each([
    // [label, rmin, rmax, range, options, scale (before float32 rounding), zero point]
    ['asymmetric uint8 over [-1, 3]: zp = round(1 / (4/255)) = round(63.75)', -1, 3, uint8, {}, 4 / 255, 64],
    ['a positive range is widened to include 0', 0.5, 2, uint8, {}, 2 / 255, 0],
    ['a negative range is widened to include 0: zp = 255', -3, -1, uint8, {}, 3 / 255, 255],
    ['zp = 127.5 rounds half to even, to 128', -1, 1, uint8, {}, 2 / 255, 128],
    ['zp = 126.5 rounds half to even, to 126 (Math.round would give 127)', -126.5, 128.5, uint8, {}, 1, 126],
    ['symmetric int8 uses max |x| over 127', -0.5, 2, int8Symmetric, { symmetric: true }, 4 / 254, 0],
    ['symmetric uint8 centres the zero point at 127', -1, 0.25, quantRange('uint8', { symmetric: true }), { symmetric: true }, 2 / 254, 127],
    ['a constant zero tensor gets scale 1 and zero point 0', 0, 0, uint8, {}, 1, 0],
    ['a tiny range below float32 tiny is treated as zero', 0, 1e-40, uint8, {}, 1, 0],
    ['MinimumRealRange widens a tiny range', 0, 1e-6, uint8, { minRealRange: 1e-4 }, 1e-4 / 255, 0],
  ])('%s', (_label, rmin, rmax, range, options, scale, zeroPoint) => {
    const params = computeQuantParams(rmin, rmax, range, options)
    expect(params.scale).toBe(Math.fround(scale))
    expect(params.zeroPoint).toBe(zeroPoint)
  })

  it('refuses an inverted range as a bug', () => {
    expect(() => computeQuantParams(2, 1, uint8)).toThrow(/rmin <= rmax/)
  })
})

describe('quantizeValue', () => {
  const int8 = storageRange('int8')
  it.each([
    [2.5, 1, 0, 2],
    [3.5, 1, 0, 4],
    [-2.5, 1, 0, -2],
    [1000, 1, 0, 127],
    [-1000, 1, 0, -128],
    [0.3, 0.1, 5, 8],
  ])('quantizes %d with scale %d and zero point %d to %d', (value, scale, zeroPoint, expected) => {
    expect(quantizeValue(value, { scale, zeroPoint }, int8)).toBe(expected)
  })
})

describe('quantizeTensor', () => {
  it('quantizes per tensor with symmetric int8 weights', () => {
    const tensor = quantizeTensor(Float32Array.from([127, -63.4, 0, 1.6]), [4], { type: 'int8', symmetric: true })
    expect(Array.from(tensor.scales)).toEqual([1])
    expect(Array.from(tensor.zeroPoints)).toEqual([0])
    expect(Array.from(tensor.data)).toEqual([127, -63, 0, 2])
    expect(tensor.axis).toBeUndefined()
  })

  it('quantizes each row with its own scale along axis 0 (Conv output channels)', () => {
    const values = Float32Array.from([127, -50, 3.2, -12.7, 5, 0.26])
    const tensor = quantizeTensor(values, [2, 3], { type: 'int8', symmetric: true, axis: 0 })
    expect(Array.from(tensor.scales)).toEqual([1, Math.fround(0.1)])
    expect(Array.from(tensor.data)).toEqual([127, -50, 3, -127, 50, 3])
  })

  it('quantizes each column along the last axis (MatMul weight columns)', () => {
    const values = Float32Array.from([127, 1.27, -10, -0.5])
    const tensor = quantizeTensor(values, [2, 2], { type: 'int8', symmetric: true, axis: -1 })
    expect(tensor.axis).toBe(1)
    expect(Array.from(tensor.scales)).toEqual([1, Math.fround(2.54 / 254)])
    expect(Array.from(tensor.data)).toEqual([127, 127, -10, -50])
  })

  it('gives an all-zero channel scale 1 so it dequantizes to exact zeros', () => {
    const tensor = quantizeTensor(Float32Array.from([0, 0, 1, -1]), [2, 2], { type: 'int8', symmetric: true, axis: 0 })
    expect(tensor.scales[0]).toBe(1)
    const restored = Array.from(dequantizeTensor(tensor, [2, 2]))
    expect(restored.slice(0, 2)).toEqual([0, 0])
    expect(restored[2]).toBeCloseTo(1, 6)
  })

  it('keeps the dequantized error within half a step per channel', () => {
    const values = Float32Array.from({ length: 64 }, (_, index) => Math.sin(index) * (index < 32 ? 10 : 0.01))
    const tensor = quantizeTensor(values, [2, 32], { type: 'int8', symmetric: true, axis: 0 })
    const restored = dequantizeTensor(tensor, [2, 32])
    for (let index = 0; index < values.length; index++) {
      const step = tensor.scales[index < 32 ? 0 : 1] ?? 0
      expect(Math.abs((restored[index] ?? 0) - (values[index] ?? 0))).toBeLessThanOrEqual(step / 2 + 1e-9)
    }
  })

  it('quantizes asymmetric uint8 with a non-zero zero point', () => {
    const tensor = quantizeTensor(Float32Array.from([-1, 0, 3]), [3], { type: 'uint8', symmetric: false })
    expect(Array.from(tensor.zeroPoints)).toEqual([64])
    expect(Array.from(tensor.data)).toEqual([0, 64, 255])
  })
})

describe('quantizeBias', () => {
  it('uses input_scale * weight_scale per channel and zero point 0', () => {
    const bias = quantizeBias(Float32Array.from([1, -0.5]), 0.02, Float32Array.from([0.01, 0.05]))
    expect(Array.from(bias.scales)).toEqual([Math.fround(0.0002), Math.fround(0.001)])
    expect(Array.from(bias.data)).toEqual([5000, -500])
    expect(bias.clippedCount).toBe(0)
  })

  it('shares one scale across the bias when the weight is per tensor, and counts clipping', () => {
    const bias = quantizeBias(Float32Array.from([1e6, 2]), 1e-4, Float32Array.from([1e-4]))
    expect(bias.scales.length).toBe(1)
    expect(bias.data[0]).toBe(2147483647)
    expect(bias.data[1]).toBe(roundHalfToEven(2 / (bias.scales[0] ?? 1)))
    expect(bias.clippedCount).toBe(1)
  })

  it('computes a weight scale large enough to keep the bias inside half the int32 range', () => {
    const scale = minimumWeightScaleForBias(1e6, 1e-4)
    expect(1e6 / (1e-4 * scale)).toBeCloseTo(2147483647 / 2, 0)
    expect(minimumWeightScaleForBias(0, 1)).toBe(0)
  })
})

/**
 * Linear quantization parameters and value quantization, with onnxruntime's conventions so our models match
 * what `onnxruntime.quantization` produces (anchors-quantization.md §1.6 and pitfall 3):
 * ranges always include 0, scales are computed in float64 then stored as float32, rounding is half to even
 * (numpy.round and ONNX QuantizeLinear), symmetric int8 uses [-127, 127]. Pure.
 */
import { assert } from '../../../src-shared/errors.ts'

export type QuantType = 'int8' | 'uint8'

export interface QuantRange {
  qmin: number
  qmax: number
}

export interface QuantParams {
  /** float32-representable scale. */
  scale: number
  zeroPoint: number
}

/** float32's smallest normal number (numpy.finfo(float32).tiny): a smaller scale means a zero range. */
export const FLOAT32_TINY = 1.1754943508222875e-38
const INT32_MIN = -2147483648
const INT32_MAX = 2147483647

/** The integer interval a quantized value may use (quant_utils.get_qmin_qmax_for_qType). */
export function quantRange(type: QuantType, options: { symmetric?: boolean; reduceRange?: boolean } = {}): QuantRange {
  if (type === 'int8') {
    if (options.reduceRange) return { qmin: -64, qmax: 64 }
    return options.symmetric ? { qmin: -127, qmax: 127 } : { qmin: -128, qmax: 127 }
  }
  if (options.reduceRange) return { qmin: 0, qmax: 127 }
  return options.symmetric ? { qmin: 0, qmax: 254 } : { qmin: 0, qmax: 255 }
}

/** The full storage range of a type, used for clipping (a symmetric range is narrower than the storage). */
export function storageRange(type: QuantType): QuantRange {
  return type === 'int8' ? { qmin: -128, qmax: 127 } : { qmin: 0, qmax: 255 }
}

/** Round half to even, like numpy.round and the ONNX QuantizeLinear spec (JavaScript's Math.round rounds half up). */
export function roundHalfToEven(value: number): number {
  if (!Number.isFinite(value)) return value
  const floor = Math.floor(value)
  const difference = value - floor
  if (difference > 0.5) return floor + 1
  if (difference < 0.5) return floor
  return floor % 2 === 0 ? floor : floor + 1
}

/**
 * Scale and zero point for a real range [rmin, rmax] (quant_utils.compute_scale_zp). The range is widened to include 0
 * so zero padding stays exact; `minRealRange` widens tiny ranges (ORT's MinimumRealRange).
 */
export function computeQuantParams(
  rmin: number,
  rmax: number,
  range: QuantRange,
  options: { symmetric?: boolean; minRealRange?: number } = {},
): QuantParams {
  assert(Number.isFinite(rmin) && Number.isFinite(rmax), `computeQuantParams needs a finite range, got [${rmin}, ${rmax}]`)
  assert(rmin <= rmax, `computeQuantParams needs rmin <= rmax, got [${rmin}, ${rmax}]`)
  let low = Math.min(rmin, 0)
  let high = Math.max(rmax, 0)
  if (options.minRealRange !== undefined) high = Math.max(high, low + options.minRealRange)
  if (options.symmetric) {
    const absoluteMax = Math.max(Math.abs(low), Math.abs(high))
    low = -absoluteMax
    high = absoluteMax
  }
  const scale64 = (high - low) / (range.qmax - range.qmin)
  if (scale64 < FLOAT32_TINY) return { scale: 1, zeroPoint: 0 }
  const zeroPoint = options.symmetric ? roundHalfToEven((range.qmin + range.qmax) / 2) : roundHalfToEven(range.qmin - low / scale64)
  return { scale: Math.fround(scale64), zeroPoint: zeroPoint === 0 ? 0 : zeroPoint }
}

/** Quantizes one value: clip(round(x / scale) + zeroPoint) with the division in float32, as numpy does. */
export function quantizeValue(value: number, params: QuantParams, clip: QuantRange): number {
  const scaled = roundHalfToEven(Math.fround(Math.fround(value) / params.scale)) + params.zeroPoint
  const clipped = Math.min(clip.qmax, Math.max(clip.qmin, scaled))
  return clipped === 0 ? 0 : clipped
}

export function dequantizeValue(quantized: number, params: QuantParams): number {
  return Math.fround((quantized - params.zeroPoint) * params.scale)
}

function minMaxOf(values: ArrayLike<number>, start: number, count: number, stride: number): [number, number] {
  let min = Infinity
  let max = -Infinity
  for (let index = 0; index < count; index++) {
    const value = values[start + index * stride] ?? 0
    if (value < min) min = value
    if (value > max) max = value
  }
  return count === 0 ? [0, 0] : [min, max]
}

export interface QuantizedTensor {
  type: QuantType
  /** Int8Array for int8, Uint8Array for uint8, same layout as the float input. */
  data: Int8Array | Uint8Array
  /** One entry per tensor, or one per channel along `axis`. */
  scales: Float32Array
  zeroPoints: Int8Array | Uint8Array
  /** The channel axis (non-negative), or undefined when quantized per tensor. */
  axis: number | undefined
}

export interface WeightQuantOptions {
  type: QuantType
  symmetric: boolean
  reduceRange?: boolean
  /** Quantize per channel along this axis (negative counts from the end); per tensor when undefined. */
  axis?: number
  /**
   * A floor for each channel's scale (one value, or one per channel): lets a QDQ recipe enlarge weight scales so an
   * int32 bias with scale input_scale * weight_scale cannot overflow.
   */
  minimumScale?: number | Float32Array
}

function floorScale(params: QuantParams, minimum: number | undefined): QuantParams {
  if (minimum === undefined || !(params.scale < minimum)) return params
  return { scale: nextFloat32Up(minimum), zeroPoint: params.zeroPoint }
}

/** The smallest float32 not below `value`. */
function nextFloat32Up(value: number): number {
  const rounded = Math.fround(value)
  if (rounded >= value) return rounded
  const buffer = new Float32Array([rounded])
  const bits = new Int32Array(buffer.buffer)
  bits[0] = (bits[0] ?? 0) + (rounded >= 0 ? 1 : -1)
  return buffer[0] ?? value
}

function normalizeAxis(axis: number, rank: number): number {
  const normalized = axis < 0 ? axis + rank : axis
  assert(normalized >= 0 && normalized < rank, `axis ${axis} is outside a rank-${rank} tensor`)
  return normalized
}

/**
 * Quantizes a float tensor per tensor or per channel (quant_utils.quantize_data / quantize_weight_per_channel):
 * each channel's range comes from its own min and max.
 */
export function quantizeTensor(values: Float32Array, dims: readonly number[], options: WeightQuantOptions): QuantizedTensor {
  // A floored scale keeps the zero point, which is only right for symmetric ranges.
  assert(options.minimumScale === undefined || options.symmetric, 'a minimum scale needs symmetric quantization')
  const range = quantRange(options.type, { symmetric: options.symmetric, ...(options.reduceRange ? { reduceRange: true } : {}) })
  const clip = storageRange(options.type)
  const data = options.type === 'int8' ? new Int8Array(values.length) : new Uint8Array(values.length)
  if (options.axis === undefined) {
    const [rmin, rmax] = minMaxOf(values, 0, values.length, 1)
    const minimum = typeof options.minimumScale === 'number' ? options.minimumScale : options.minimumScale?.[0]
    const params = floorScale(computeQuantParams(rmin, rmax, range, { symmetric: options.symmetric }), minimum)
    for (let index = 0; index < values.length; index++) data[index] = quantizeValue(values[index] ?? 0, params, clip)
    const zeroPoints = options.type === 'int8' ? Int8Array.of(params.zeroPoint) : Uint8Array.of(params.zeroPoint)
    return { type: options.type, data, scales: Float32Array.of(params.scale), zeroPoints, axis: undefined }
  }
  const axis = normalizeAxis(options.axis, dims.length)
  const channelCount = dims[axis] ?? 1
  const inner = dims.slice(axis + 1).reduce((product, dim) => product * dim, 1)
  const outer = dims.slice(0, axis).reduce((product, dim) => product * dim, 1)
  const scales = new Float32Array(channelCount)
  const zeroPoints = options.type === 'int8' ? new Int8Array(channelCount) : new Uint8Array(channelCount)
  for (let channel = 0; channel < channelCount; channel++) {
    let min = Infinity
    let max = -Infinity
    for (let block = 0; block < outer; block++) {
      const [blockMin, blockMax] = minMaxOf(values, (block * channelCount + channel) * inner, inner, 1)
      if (inner > 0) {
        min = Math.min(min, blockMin)
        max = Math.max(max, blockMax)
      }
    }
    if (!Number.isFinite(min)) min = max = 0
    const minimum = typeof options.minimumScale === 'number' ? options.minimumScale : options.minimumScale?.[channel]
    const params = floorScale(computeQuantParams(min, max, range, { symmetric: options.symmetric }), minimum)
    scales[channel] = params.scale
    zeroPoints[channel] = params.zeroPoint
    for (let block = 0; block < outer; block++) {
      const start = (block * channelCount + channel) * inner
      for (let index = start; index < start + inner; index++) data[index] = quantizeValue(values[index] ?? 0, params, clip)
    }
  }
  return { type: options.type, data, scales, zeroPoints, axis }
}

/** Reverses quantizeTensor, for error measurements and tests. */
export function dequantizeTensor(tensor: QuantizedTensor, dims: readonly number[]): Float32Array {
  const out = new Float32Array(tensor.data.length)
  if (tensor.axis === undefined) {
    const params = { scale: tensor.scales[0] ?? 1, zeroPoint: tensor.zeroPoints[0] ?? 0 }
    for (let index = 0; index < out.length; index++) out[index] = dequantizeValue(tensor.data[index] ?? 0, params)
    return out
  }
  const channelCount = dims[tensor.axis] ?? 1
  const inner = dims.slice(tensor.axis + 1).reduce((product, dim) => product * dim, 1)
  for (let index = 0; index < out.length; index++) {
    const channel = Math.floor(index / inner) % channelCount
    out[index] = dequantizeValue(tensor.data[index] ?? 0, { scale: tensor.scales[channel] ?? 1, zeroPoint: tensor.zeroPoints[channel] ?? 0 })
  }
  return out
}

export interface QuantizedBias {
  data: Int32Array
  /** input_scale * weight_scale, one per weight channel (or one). */
  scales: Float32Array
  /** How many values were clipped to the int32 range (onnxruntime warns about this). */
  clippedCount: number
}

/**
 * int32 bias for a QDQ Conv/Gemm/MatMul: scale = input_scale * weight_scale (per weight channel when the weight is
 * per channel), zero point 0, q = round(bias / scale) clipped to int32 (base_quantizer.quantize_bias_static_impl).
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): QuantizedBias {
  const scales = new Float32Array(weightScales.length)
  for (let index = 0; index < weightScales.length; index++) scales[index] = Math.fround(inputScale * (weightScales[index] ?? 1))
  const data = new Int32Array(bias.length)
  let clippedCount = 0
  for (let index = 0; index < bias.length; index++) {
    const scale = scales.length === 1 ? (scales[0] ?? 1) : (scales[index] ?? 1)
    const quantized = scale === 0 ? 0 : roundHalfToEven((bias[index] ?? 0) / scale)
    if (quantized > INT32_MAX || quantized < INT32_MIN) clippedCount++
    data[index] = Math.min(INT32_MAX, Math.max(INT32_MIN, quantized))
  }
  return { data, scales, clippedCount }
}

/**
 * The smallest weight scale that keeps round(bias / (inputScale * weightScale)) inside int32 with headroom; used to
 * enlarge a weight scale when a tiny input scale would make the int32 bias overflow (onnxruntime's
 * QDQDisableWeightAdjustForInt32Bias=False behaviour).
 */
export function minimumWeightScaleForBias(biasAbsMax: number, inputScale: number): number {
  if (biasAbsMax === 0 || inputScale === 0) return 0
  // Half the int32 range leaves room for the accumulator the kernel adds the bias to.
  return biasAbsMax / (inputScale * (INT32_MAX / 2))
}

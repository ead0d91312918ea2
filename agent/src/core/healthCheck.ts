/**
 * The checks of the health gate that need no I/O (anchors-security.md §10.8): outputs have the declared shapes and
 * finite values, golden inputs give the golden outputs within tolerance. Outcomes are values, not errors. Pure.
 */
import type { TensorInfo } from '../../../src-shared/domain/model.ts'
import type { GoldenCase } from '../../../src-shared/protocol/messages.ts'
import { tensorFromJson } from './jsonTensor.ts'
import type { TensorValue } from './tensorValue.ts'

export type HealthVerdict = { isHealthy: true } | { isHealthy: false; code: 'health-check-failed' | 'golden-mismatch'; message: string }

const HEALTHY: HealthVerdict = { isHealthy: true }
const FLOAT_TYPES = ['float16', 'float32', 'float64', 'bfloat16']

function unhealthy(code: 'health-check-failed' | 'golden-mismatch', message: string): HealthVerdict {
  return { isHealthy: false, code, message: message.slice(0, 480) }
}

/** Every declared output is present, has the declared rank and fixed dimensions, and floats are finite. */
export function checkOutputs(outputs: Readonly<Record<string, TensorValue>>, declared: readonly TensorInfo[]): HealthVerdict {
  for (const info of declared) {
    const output = outputs[info.name]
    if (output === undefined) return unhealthy('health-check-failed', `Output ${info.name} is missing`)
    if (info.elementType === 'non-tensor') continue
    if (info.shape.length > 0 && output.dims.length !== info.shape.length) {
      return unhealthy('health-check-failed', `Output ${info.name} has ${output.dims.length} dimensions, the model declares ${info.shape.length}`)
    }
    for (const [axis, dim] of info.shape.entries()) {
      if (typeof dim === 'number' && dim > 0 && output.dims[axis] !== dim) {
        return unhealthy('health-check-failed', `Output ${info.name} has dims ${JSON.stringify(output.dims)}, the model declares ${JSON.stringify(info.shape)}`)
      }
    }
    if (FLOAT_TYPES.includes(output.elementType) && !Array.isArray(output.data)) {
      for (const value of output.data) {
        if (typeof value === 'number' && !Number.isFinite(value)) return unhealthy('health-check-failed', `Output ${info.name} contains ${value}`)
      }
    }
  }
  return HEALTHY
}

/** Golden inputs as tensors; malformed golden data fails the check rather than the agent. */
export function goldenFeeds(
  golden: GoldenCase,
  inputs: readonly TensorInfo[],
): { isUsable: true; feeds: Record<string, TensorValue> } | { isUsable: false; verdict: HealthVerdict } {
  const feeds: Record<string, TensorValue> = {}
  try {
    for (const [name, tensor] of Object.entries(golden.inputs)) {
      feeds[name] = tensorFromJson(name, tensor, inputs.find((input) => input.name === name)?.elementType)
    }
  } catch (error) {
    return { isUsable: false, verdict: unhealthy('golden-mismatch', `Golden input unusable: ${error instanceof Error ? error.message : String(error)}`) }
  }
  return { isUsable: true, feeds }
}

/** Each golden output matches element by element within `absTolerance + relTolerance * |expected|`. */
export function compareGolden(outputs: Readonly<Record<string, TensorValue>>, golden: GoldenCase): HealthVerdict {
  const relTolerance = golden.relTolerance ?? 0
  for (const [name, expected] of Object.entries(golden.outputs)) {
    const actual = outputs[name]
    if (actual === undefined) return unhealthy('golden-mismatch', `Golden output ${name} is missing`)
    if (JSON.stringify(actual.dims) !== JSON.stringify(expected.dims)) {
      return unhealthy('golden-mismatch', `Golden output ${name} has dims ${JSON.stringify(actual.dims)}, expected ${JSON.stringify(expected.dims)}`)
    }
    const values = Array.isArray(actual.data) ? actual.data : Array.from(actual.data as ArrayLike<number | bigint>)
    for (const [index, want] of expected.data.entries()) {
      const got = values[index]
      if (typeof want === 'string' || typeof got === 'string') {
        if (String(got) !== String(want)) return unhealthy('golden-mismatch', `Golden output ${name}[${index}] is ${String(got)}, expected ${want}`)
        continue
      }
      const wantNumber = Number(want)
      const gotNumber = Number(got)
      const allowed = golden.absTolerance + relTolerance * Math.abs(wantNumber)
      if (!Number.isFinite(gotNumber) || Math.abs(gotNumber - wantNumber) > allowed) {
        return unhealthy('golden-mismatch', `Golden output ${name}[${index}] is ${gotNumber}, expected ${wantNumber} ± ${allowed}`)
      }
    }
  }
  return HEALTHY
}

/**
 * Golden files for a release's health check (anchors-security.md §10.3 health, §10.8): inputs and the outputs the
 * model must reproduce within the tolerance before a device commits it. When the engineer brings none, they are
 * recorded here: deterministic inputs (xorshift values in [-1, 1), small integers, alternating booleans; a
 * dynamic first axis gets 2 rows, other dynamic axes 1) run through onnxruntime-node on CPU.
 */
import * as ort from 'onnxruntime-node'
import { AppError } from '../../../src-shared/errors.ts'
import { elementCount, type NdArray, type NpyDtype } from '../numpy/npy.ts'
import { readNumpy, writeNpz } from '../numpy/npz.ts'
import { oneLineReason } from '../onnx/onnxModelInspector.ts'

export interface GoldenFiles {
  inputs: Uint8Array
  outputs: Uint8Array
}

const DYNAMIC_FIRST_AXIS = 2

function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 0x1_0000_0000
  }
}

function inputArray(type: string, shape: number[], random: () => number, name: string): NdArray {
  const count = elementCount(shape)
  switch (type) {
    case 'float32':
      return { dtype: 'float32', shape, data: Float32Array.from({ length: count }, () => random() * 2 - 1) }
    case 'float64':
      return { dtype: 'float64', shape, data: Float64Array.from({ length: count }, () => random() * 2 - 1) }
    case 'int32':
      return { dtype: 'int32', shape, data: Int32Array.from({ length: count }, () => Math.floor(random() * 10)) }
    case 'int64':
      return { dtype: 'int64', shape, data: BigInt64Array.from({ length: count }, () => BigInt(Math.floor(random() * 10))) }
    case 'uint8':
      return { dtype: 'uint8', shape, data: Uint8Array.from({ length: count }, () => Math.floor(random() * 256)) }
    case 'bool':
      return { dtype: 'bool', shape, data: Uint8Array.from({ length: count }, (_, index) => index % 2) }
    default:
      throw new AppError('model-unsupported', `Input '${name}' is ${type}; pass --golden-inputs and --golden-outputs for such models`, { input: name, type })
  }
}

const outputDtypes: ReadonlySet<string> = new Set<NpyDtype>(['float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool'])

function outputArray(tensor: ort.Tensor, name: string): NdArray {
  if (!outputDtypes.has(tensor.type)) {
    throw new AppError('model-unsupported', `Output '${name}' is ${tensor.type}; pass --golden-inputs and --golden-outputs for such models`, { output: name })
  }
  return { dtype: tensor.type as NpyDtype, shape: [...tensor.dims], data: tensor.data as NdArray['data'] }
}

async function createSession(modelBytes: Uint8Array): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(modelBytes, { executionProviders: ['cpu'] })
  } catch (error) {
    throw new AppError('model-load-failed', `onnxruntime-node cannot load the model: ${oneLineReason(error)}`)
  }
}

export async function recordGoldenFiles(modelBytes: Uint8Array): Promise<GoldenFiles> {
  const session = await createSession(modelBytes)
  try {
    const random = xorshift(0x5eed)
    const inputs = new Map<string, NdArray>()
    const feeds: Record<string, ort.Tensor> = {}
    for (const metadata of session.inputMetadata) {
      if (!metadata.isTensor) throw new AppError('model-unsupported', `Input '${metadata.name}' is not a tensor; pass --golden-inputs and --golden-outputs`)
      const shape = metadata.shape.map((dim, axis) => (typeof dim === 'number' && dim >= 0 ? dim : axis === 0 ? DYNAMIC_FIRST_AXIS : 1))
      const array = inputArray(metadata.type, shape, random, metadata.name)
      inputs.set(metadata.name, array)
      feeds[metadata.name] = new ort.Tensor(metadata.type, array.data as never, shape)
    }
    let results: ort.InferenceSession.OnnxValueMapType
    try {
      results = await session.run(feeds)
    } catch (error) {
      throw new AppError('inference-failed', `The model does not run on generated inputs (${oneLineReason(error)}); pass --golden-inputs and --golden-outputs`)
    }
    const outputs = new Map<string, NdArray>()
    for (const name of session.outputNames) {
      const tensor = results[name]
      if (tensor === undefined) throw new AppError('inference-failed', `The model produced no output '${name}'`)
      outputs.set(name, outputArray(tensor, name))
    }
    return { inputs: writeNpz(inputs), outputs: writeNpz(outputs) }
  } finally {
    await session.release()
  }
}

/** Checks that engineer-supplied golden files are NumPy files whose arrays are named after the model's tensors. */
export async function checkGoldenFiles(modelBytes: Uint8Array, files: { inputs: Uint8Array; outputs: Uint8Array; inputsName: string; outputsName: string }): Promise<void> {
  const inputs = readNumpy(files.inputs, `The golden inputs ${files.inputsName}`)
  const outputs = readNumpy(files.outputs, `The golden outputs ${files.outputsName}`)
  const session = await createSession(modelBytes)
  try {
    const missingInput = session.inputNames.find((name) => !inputs.has(name))
    if (missingInput !== undefined && session.inputNames.length > 1) {
      throw new AppError('invalid-input', `${files.inputsName} has no array named '${missingInput}'; name each array after a model input (${session.inputNames.join(', ')})`)
    }
    const missingOutput = session.outputNames.find((name) => !outputs.has(name))
    if (missingOutput !== undefined && session.outputNames.length > 1) {
      throw new AppError('invalid-input', `${files.outputsName} has no array named '${missingOutput}'; name each array after a model output (${session.outputNames.join(', ')})`)
    }
  } finally {
    await session.release()
  }
}

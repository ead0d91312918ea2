/**
 * Matches arrays from a .npy/.npz file to a model's inputs and cuts them into runs, with a sentence naming the input
 * and both shapes when they do not fit. An array feeds its input in one of three ways:
 * - stacked: one more axis than the input; each index along the first axis is one run (e.g. [N, 1, 512] for a
 *   [1, 512] input);
 * - batched: same rank; runs take consecutive rows along the first axis (batchSize rows when that axis is dynamic,
 *   exactly its size when fixed);
 * - constant: a rank-0 input (e.g. a sample rate), fed unchanged to every run.
 * Pure.
 */
import { AppError } from '../../../src-shared/errors.ts'

export interface ModelInputSpec {
  name: string
  /** onnxruntime's type name: 'float32', 'int64', ... */
  elementType: string
  /** A number for a fixed dimension, a string or null for a dynamic one. */
  shape: ReadonlyArray<number | string | null>
}

export interface ArraySpec {
  /** numpy dtype name: 'float32', 'int64', 'bool', ... */
  dtype: string
  shape: readonly number[]
}

export type InputSlice =
  | { input: string; array: string; kind: 'constant' }
  | { input: string; array: string; kind: 'rows'; startRow: number; rowCount: number; shape: number[] }
  | { input: string; array: string; kind: 'stacked'; index: number; shape: number[] }

export interface InputPlan {
  /** One entry per run: how to build each input's tensor. */
  runs: InputSlice[][]
}

const floatTypes = new Set(['float16', 'float32', 'float64'])
const integerTypes = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'])

/** Whether an array of `dtype` can feed an input of `elementType` (floats convert among floats, ints among ints). */
export function isCompatibleDtype(dtype: string, elementType: string): boolean {
  if (dtype === elementType) return true
  if (floatTypes.has(elementType)) return floatTypes.has(dtype)
  if (integerTypes.has(elementType)) return integerTypes.has(dtype)
  return false
}

function shapeText(shape: ReadonlyArray<number | string | null>): string {
  return `[${shape.map((dim) => (dim === null ? '?' : String(dim))).join(', ')}]`
}

function fits(arrayDims: readonly number[], modelDims: ReadonlyArray<number | string | null>): boolean {
  return arrayDims.length === modelDims.length && modelDims.every((dim, index) => typeof dim !== 'number' || dim === arrayDims[index])
}

interface InputLayout {
  input: ModelInputSpec
  arrayName: string
  array: ArraySpec
  kind: 'constant' | 'rows' | 'stacked'
  /** Rows per run for 'rows'. */
  rowsPerRun: number
  runCount: number
}

function layoutFor(input: ModelInputSpec, arrayName: string, array: ArraySpec, batchSize: number, source: string): InputLayout {
  const mismatch = (why: string) =>
    new AppError(
      'invalid-input',
      `${source}: the array '${arrayName}' ${shapeText(array.shape)} does not fit the model input '${input.name}' ${shapeText(input.shape)}: ${why}.`,
      { input: input.name, array: arrayName, arrayShape: [...array.shape], inputShape: [...input.shape] },
    )
  if (!isCompatibleDtype(array.dtype, input.elementType)) throw mismatch(`its dtype ${array.dtype} cannot feed ${input.elementType}`)
  const rank = input.shape.length
  if (rank === 0 && array.shape.length === 0) return { input, arrayName, array, kind: 'constant', rowsPerRun: 0, runCount: 1 }
  if (array.shape.length === rank + 1) {
    if (!fits(array.shape.slice(1), input.shape)) throw mismatch('each sample along the first axis has the wrong shape')
    return { input, arrayName, array, kind: 'stacked', rowsPerRun: 1, runCount: array.shape[0] ?? 0 }
  }
  if (array.shape.length === rank && rank > 0) {
    const first = input.shape[0]
    if (!fits(array.shape.slice(1), input.shape.slice(1))) throw mismatch('the dimensions after the first differ')
    const rows = array.shape[0] ?? 0
    if (typeof first === 'number') {
      if (first <= 0 || rows % first !== 0) throw mismatch(`the first axis must be a multiple of ${first}`)
      return { input, arrayName, array, kind: 'rows', rowsPerRun: first, runCount: rows / first }
    }
    return { input, arrayName, array, kind: 'rows', rowsPerRun: batchSize, runCount: Math.ceil(rows / batchSize) }
  }
  throw mismatch(`the array needs rank ${rank} (rows along the first axis) or ${rank + 1} (one sample per index)`)
}

/**
 * Plans the runs. `source` names the file in messages. A single array with a single model input is matched whatever
 * its name (np.save writes 'arr_0'); otherwise names must match and every array must be used.
 */
export function planInputBatches(
  inputs: readonly ModelInputSpec[],
  arrays: ReadonlyMap<string, ArraySpec>,
  options: { batchSize?: number; source?: string } = {},
): InputPlan {
  const source = options.source ?? 'The inputs file'
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 1))
  const modelNames = inputs.map((input) => input.name).join(', ')
  const pairs: Array<[ModelInputSpec, string]> = []
  const [onlyArray] = arrays.keys()
  const [onlyInput] = inputs
  if (inputs.length === 1 && arrays.size === 1 && onlyArray !== undefined && onlyInput !== undefined) {
    pairs.push([onlyInput, onlyArray])
  } else {
    for (const name of arrays.keys()) {
      if (!inputs.some((input) => input.name === name)) {
        throw new AppError('invalid-input', `${source} has an array '${name}' that is not a model input (the model's inputs are: ${modelNames}).`, {
          array: name,
          inputs: inputs.map((input) => input.name),
        })
      }
    }
    for (const input of inputs) {
      if (!arrays.has(input.name)) {
        throw new AppError('invalid-input', `${source} has no array for the model input '${input.name}' ${shapeText(input.shape)} (the model's inputs are: ${modelNames}).`, {
          input: input.name,
          arrays: [...arrays.keys()],
        })
      }
      pairs.push([input, input.name])
    }
  }
  const layouts = pairs.map(([input, name]) => layoutFor(input, name, arrays.get(name) as ArraySpec, batchSize, source))
  const varying = layouts.filter((layout) => layout.kind !== 'constant')
  const runCount = varying[0]?.runCount ?? 1
  const disagreeing = varying.find((layout) => layout.runCount !== runCount)
  if (disagreeing !== undefined && varying[0] !== undefined) {
    throw new AppError(
      'invalid-input',
      `${source}: the arrays give different numbers of samples: '${varying[0].arrayName}' ${shapeText(varying[0].array.shape)} gives ${runCount} runs, '${disagreeing.arrayName}' ${shapeText(disagreeing.array.shape)} gives ${disagreeing.runCount}.`,
      { first: varying[0].arrayName, second: disagreeing.arrayName },
    )
  }
  const runs: InputSlice[][] = []
  for (let run = 0; run < runCount; run++) {
    runs.push(
      layouts.map((layout): InputSlice => {
        if (layout.kind === 'constant') return { input: layout.input.name, array: layout.arrayName, kind: 'constant' }
        if (layout.kind === 'stacked') return { input: layout.input.name, array: layout.arrayName, kind: 'stacked', index: run, shape: layout.array.shape.slice(1) }
        const startRow = run * layout.rowsPerRun
        const rowCount = Math.min(layout.rowsPerRun, (layout.array.shape[0] ?? 0) - startRow)
        return { input: layout.input.name, array: layout.arrayName, kind: 'rows', startRow, rowCount, shape: [rowCount, ...layout.array.shape.slice(1)] }
      }),
    )
  }
  return { runs }
}

/**
 * Calibration and evaluation input sets: a .npy/.npz file, a directory of them, uploaded bytes, or synthetic arrays
 * made from the model's input shapes. Each comes back as arrays keyed for planInputBatches plus the summary a model
 * card records (sha256, sample count, array shapes).
 */
import { createHash } from 'node:crypto'
import { readFile, readdir, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { CalibrationSummary, SyntheticInputs } from '../../../src-shared/contract/packagingContract.ts'
import type { TensorInfo } from '../../../src-shared/domain/model.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { type NdArray, type NpyData, elementCount, writeNpy } from '../numpy/npy.ts'
import { readNumpy } from '../numpy/npz.ts'
import { readNumpyFile } from '../numpy/numpyFile.ts'

export interface ArraySet {
  arrays: Map<string, NdArray>
  summary: CalibrationSummary
}

/** Files in a set directory beyond this are refused rather than read one by one for minutes. */
const MAX_DIRECTORY_FILES = 10_000

function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function describe(arrays: ReadonlyMap<string, NdArray>): CalibrationSummary['arrays'] {
  return [...arrays].slice(0, 256).map(([name, array]) => ({ name: name.slice(0, 256), dtype: array.dtype, shape: array.shape.slice(0, 16) }))
}

/** Samples along the first axis of the first array with one (a scalar-only set counts as one sample). */
export function sampleCountOf(arrays: ReadonlyMap<string, NdArray>): number {
  for (const array of arrays.values()) if (array.shape.length > 0) return array.shape[0] ?? 0
  return arrays.size > 0 ? 1 : 0
}

function summarize(arrays: Map<string, NdArray>, sha256: string, source: CalibrationSummary['source'], name: string, seed: number | null): ArraySet {
  return { arrays, summary: { sha256, source, name: name.slice(0, 256), sampleCount: sampleCountOf(arrays), arrays: describe(arrays), seed } }
}

/** The graph inputs a set feeds, with their ranks, as inspection reports them. */
export type InputShapes = ReadonlyArray<Pick<TensorInfo, 'name' | 'shape'>>

/** A one-input model takes its single array whatever its name (np.save names it after the file). */
function renameForSingleInput(arrays: Map<string, NdArray>, inputs: InputShapes): Map<string, NdArray> {
  const [only] = inputs
  const [entry] = arrays
  if (inputs.length !== 1 || arrays.size !== 1 || only === undefined || entry === undefined) return arrays
  return new Map([[only.name, entry[1]]])
}

function concatenate(name: string, parts: ReadonlyArray<{ array: NdArray; file: string }>, inputRank: number | undefined): NdArray {
  const first = parts[0]
  if (first === undefined) throw new AppError('invalid-input', `No data for the array '${name}'.`)
  // An array with one axis fewer than the input is a single sample: give it the leading axis before joining.
  const asRows = (array: NdArray): number[] => (inputRank !== undefined && array.shape.length === inputRank - 1 ? [1, ...array.shape] : array.shape)
  const firstShape = asRows(first.array)
  if (firstShape.length === 0) {
    if (parts.length === 1) return first.array
    throw new AppError('invalid-input', `The array '${name}' is a scalar in ${first.file}; scalars cannot be joined across files.`, { array: name })
  }
  let rows = 0
  for (const { array, file } of parts) {
    const shape = asRows(array)
    if (array.dtype !== first.array.dtype || shape.length !== firstShape.length || shape.slice(1).some((dim, index) => dim !== firstShape[index + 1])) {
      throw new AppError(
        'invalid-input',
        `The array '${name}' is ${array.dtype} [${array.shape.join(', ')}] in ${file} but ${first.array.dtype} [${first.array.shape.join(', ')}] in ${first.file}; every file must hold the same shape after the first axis.`,
        { array: name, file, firstFile: first.file },
      )
    }
    rows += shape[0] ?? 0
  }
  const Constructor = first.array.data.constructor as new (length: number) => NpyData
  const data = new Constructor(rows * elementCount(firstShape.slice(1)))
  let offset = 0
  for (const { array } of parts) {
    ;(data as { set(source: ArrayLike<number | bigint>, offset: number): void }).set(array.data, offset)
    offset += array.data.length
  }
  return { dtype: first.array.dtype, shape: [rows, ...firstShape.slice(1)], data }
}

/**
 * Reads a .npy/.npz file, or every .npy/.npz file of a directory in file-name order. In a directory, arrays with the
 * same name (for a one-input model, every file's single array) are joined along the first axis; an array with one
 * axis fewer than its input counts as one sample. Throws 'not-found', 'invalid-input'.
 */
export async function readArraySet(path: string, inputs: InputShapes): Promise<ArraySet> {
  const info = await stat(path).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code
    throw new AppError(code === 'ENOENT' ? 'not-found' : 'invalid-input', `Cannot read ${path} (${code ?? 'unknown error'})`, { path })
  })
  if (info.isFile()) {
    const bytes = await readFile(path)
    const arrays = renameForSingleInput(readNumpy(bytes, `The file ${basename(path)}`, basename(path).replace(/\.npy$/i, '')), inputs)
    return summarize(arrays, sha256Hex(bytes), 'file', basename(path), null)
  }
  if (!info.isDirectory()) throw new AppError('invalid-input', `${path} is neither a file nor a directory`, { path })
  const names = (await readdir(path)).filter((name) => /\.(npy|npz)$/i.test(name)).sort()
  if (names.length === 0) throw new AppError('invalid-input', `The directory ${path} holds no .npy or .npz files`, { path })
  if (names.length > MAX_DIRECTORY_FILES) {
    throw new AppError('invalid-input', `The directory ${path} holds ${names.length} array files; join them into fewer .npz files (at most ${MAX_DIRECTORY_FILES})`, { path })
  }
  const parts = new Map<string, Array<{ array: NdArray; file: string }>>()
  const digestLines: string[] = []
  for (const name of names) {
    const bytes = await readFile(join(path, name))
    digestLines.push(`${name} ${sha256Hex(bytes)}\n`)
    const arrays = renameForSingleInput(readNumpy(bytes, `The file ${name}`, name.replace(/\.npy$/i, '')), inputs)
    for (const [key, array] of arrays) {
      const list = parts.get(key) ?? []
      list.push({ array, file: name })
      parts.set(key, list)
    }
  }
  const rankOf = new Map(inputs.map((input) => [input.name, input.shape.length]))
  const arrays = new Map([...parts].map(([key, list]) => [key, concatenate(key, list, rankOf.get(key))] as const))
  return summarize(arrays, sha256Hex(digestLines.join('')), 'directory', basename(path), null)
}

/** Parses uploaded .npy/.npz bytes. Throws 'invalid-input'. */
export function readArrayBytes(bytes: Uint8Array, fileName: string, inputs: InputShapes): ArraySet {
  const arrays = renameForSingleInput(readNumpy(bytes, `The file ${fileName}`, fileName.replace(/\.npy$/i, '')), inputs)
  return summarize(arrays, sha256Hex(bytes), 'upload', basename(fileName), null)
}

/** Reads a labels array: a .npy, or a .npz holding exactly one array. */
export function labelsFromArrays(arrays: ReadonlyMap<string, NdArray>, fileName: string): NdArray {
  const [first] = arrays.values()
  if (arrays.size !== 1 || first === undefined) {
    throw new AppError('invalid-input', `The labels file ${fileName} must hold exactly one array, not ${arrays.size}.`, { fileName })
  }
  return first
}

export async function readLabelsFile(path: string): Promise<NdArray> {
  return labelsFromArrays(await readNumpyFile(path), basename(path))
}

/** mulberry32: small, fast, reproducible; synthetic inputs only need to be repeatable, not unpredictable. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16'])
const INTEGER_TYPES = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool'])
/** Synthetic samples are capped so a huge input shape cannot exhaust memory. */
const MAX_SYNTHETIC_ELEMENTS = 64 * 1024 * 1024

/**
 * Random inputs for the model's graph inputs: normal(0, 1) floats (float16 inputs get float32 arrays, converted when
 * fed), integers 0..9, booleans. Dynamic dimensions become 1, except a dynamic first axis shared by every input,
 * which holds the samples (batched in runs); otherwise each input gets a leading sample axis. Throws
 * 'model-unsupported' for non-tensor or string inputs.
 */
export function syntheticArraySet(inputs: ReadonlyArray<Pick<TensorInfo, 'name' | 'shape' | 'elementType'>>, synthetic: SyntheticInputs): ArraySet {
  const random = seededRandom(synthetic.seed)
  const normal = () => {
    // Box-Muller; 1 - u keeps the logarithm finite.
    const u = 1 - random()
    const v = random()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
  const isBatchedByRows = inputs.length > 0 && inputs.every((input) => input.shape.length > 0 && typeof input.shape[0] !== 'number')
  const arrays = new Map<string, NdArray>()
  for (const input of inputs) {
    const fixed = input.shape.map((dim) => (typeof dim === 'number' && dim > 0 ? dim : 1))
    const shape = isBatchedByRows ? [synthetic.count, ...fixed.slice(1)] : [synthetic.count, ...fixed]
    const count = elementCount(shape)
    if (count > MAX_SYNTHETIC_ELEMENTS) {
      throw new AppError('invalid-input', `Synthetic inputs for '${input.name}' would hold ${count} values; ask for fewer samples.`, { input: input.name })
    }
    if (FLOAT_TYPES.has(input.elementType)) {
      const dtype = input.elementType === 'float64' ? 'float64' : 'float32'
      const data = dtype === 'float64' ? new Float64Array(count) : new Float32Array(count)
      for (let index = 0; index < count; index++) data[index] = normal()
      arrays.set(input.name, { dtype, shape, data })
    } else if (INTEGER_TYPES.has(input.elementType)) {
      const isBool = input.elementType === 'bool'
      if (input.elementType === 'int64' || input.elementType === 'uint64') {
        const data = input.elementType === 'int64' ? new BigInt64Array(count) : new BigUint64Array(count)
        for (let index = 0; index < count; index++) data[index] = BigInt(Math.floor(random() * 10))
        arrays.set(input.name, { dtype: input.elementType, shape, data })
      } else {
        const data = new Int32Array(count)
        for (let index = 0; index < count; index++) data[index] = Math.floor(random() * (isBool ? 2 : 10))
        arrays.set(input.name, isBool ? { dtype: 'bool', shape, data: Uint8Array.from(data) } : { dtype: 'int32', shape, data })
      }
    } else {
      throw new AppError('model-unsupported', `The input '${input.name}' has type ${input.elementType}; synthetic inputs exist for numeric tensors only. Upload an .npz instead.`, {
        input: input.name,
      })
    }
  }
  const hash = createHash('sha256')
  for (const name of [...arrays.keys()].sort()) hash.update(`${name}\n`).update(writeNpy(arrays.get(name) as NdArray))
  const set = summarize(arrays, hash.digest('hex'), 'synthetic', 'synthetic', synthetic.seed)
  set.summary.sampleCount = synthetic.count
  return set
}

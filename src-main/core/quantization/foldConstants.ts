/**
 * Constant folding for the layout operators exporters put between a weight and its consumer (PyTorch's LSTM export
 * slices, concatenates and unsqueezes its gate weights; others reshape or transpose them): a node of these kinds
 * whose inputs are all constants becomes an initializer, so the quantizer sees a constant weight. onnxruntime's
 * quant_pre_process gets the same effect from its graph optimizer. Bytes are moved, never converted, so any
 * fixed-size element type folds exactly. Pure.
 */
import type { OnnxModel, OnnxNode, OnnxTensor } from '../packaging/onnxModel.ts'
import { defaultOpsetVersion, findAttribute, isDefaultDomain } from '../packaging/onnxModel.ts'
import { dataTypeBits, readTensorAsNumbers, tensorElementCount, tensorRawBytes } from '../packaging/tensorData.ts'
import { type Scope, findConstant, nodeSubgraphs, removeUnusedConstants } from './graphTools.ts'

const foldableOps = new Set(['Identity', 'Unsqueeze', 'Squeeze', 'Reshape', 'Flatten', 'Transpose', 'Concat', 'Slice'])
/** Folding never creates tensors above this many elements (the weights we care about are far smaller). */
const MAX_FOLDED_ELEMENTS = 64 * 1024 * 1024

function strides(dims: readonly number[]): number[] {
  const out = new Array<number>(dims.length).fill(1)
  for (let axis = dims.length - 2; axis >= 0; axis--) out[axis] = (out[axis + 1] ?? 1) * (dims[axis + 1] ?? 1)
  return out
}

function normalize(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis
}

/** Copies elements chosen by `sourceIndex(outputIndex as multi-index)` into a new tensor of `dims`. */
function gather(source: OnnxTensor, dims: number[], sourceOffset: (index: number[]) => number): Uint8Array {
  const elementBytes = dataTypeBits(source.dataType) / 8
  const bytes = tensorRawBytes(source)
  const count = dims.reduce((product, dim) => product * dim, 1)
  const out = new Uint8Array(count * elementBytes)
  const index = new Array<number>(dims.length).fill(0)
  for (let position = 0; position < count; position++) {
    const from = sourceOffset(index) * elementBytes
    out.set(bytes.subarray(from, from + elementBytes), position * elementBytes)
    for (let axis = dims.length - 1; axis >= 0; axis--) {
      index[axis] = (index[axis] ?? 0) + 1
      if ((index[axis] ?? 0) < (dims[axis] ?? 1)) break
      index[axis] = 0
    }
  }
  return out
}

function intsInput(scope: Scope, node: OnnxNode, position: number, attribute: string): number[] | undefined | null {
  const name = node.input[position]
  if (name) {
    const source = findConstant(scope, name)
    return source === undefined ? null : readTensorAsNumbers(source.tensor)
  }
  return findAttribute(node, attribute)?.ints
}

/** Computes the folded tensor, or undefined when the node's form is not one we fold exactly. */
function evaluate(scope: Scope, node: OnnxNode, inputs: OnnxTensor[], opset: number): { dims: number[]; rawData: Uint8Array } | undefined {
  const [first] = inputs
  if (first === undefined || dataTypeBits(first.dataType) % 8 !== 0 || dataTypeBits(first.dataType) === 0) return undefined
  const dims = first.dims
  const rank = dims.length
  const bytes = () => tensorRawBytes(first).subarray(0, (tensorElementCount(first) * dataTypeBits(first.dataType)) / 8)
  switch (node.opType) {
    case 'Identity':
      return { dims: [...dims], rawData: bytes() }
    case 'Unsqueeze': {
      const axes = opset >= 13 ? intsInput(scope, node, 1, '') : findAttribute(node, 'axes')?.ints
      if (!axes) return undefined
      const outRank = rank + axes.length
      const normalized = new Set(axes.map((axis) => normalize(axis, outRank)))
      const out: number[] = []
      let next = 0
      for (let axis = 0; axis < outRank; axis++) out.push(normalized.has(axis) ? 1 : (dims[next++] ?? 1))
      return { dims: out, rawData: bytes() }
    }
    case 'Squeeze': {
      const axes = opset >= 13 ? intsInput(scope, node, 1, '') : findAttribute(node, 'axes')?.ints
      if (axes === null) return undefined
      const normalized = axes === undefined ? undefined : new Set(axes.map((axis) => normalize(axis, rank)))
      return { dims: dims.filter((dim, axis) => (normalized === undefined ? dim !== 1 : !normalized.has(axis))), rawData: bytes() }
    }
    case 'Reshape': {
      const shape = intsInput(scope, node, 1, 'shape')
      if (!shape) return undefined
      const allowZero = (findAttribute(node, 'allowzero')?.i ?? 0) !== 0
      const out = shape.map((dim, axis) => (dim === 0 && !allowZero ? (dims[axis] ?? 0) : dim))
      const known = out.filter((dim) => dim !== -1).reduce((product, dim) => product * dim, 1)
      const inferred = out.map((dim) => (dim === -1 ? tensorElementCount(first) / known : dim))
      if (inferred.some((dim) => !Number.isInteger(dim) || dim < 0)) return undefined
      return { dims: inferred, rawData: bytes() }
    }
    case 'Flatten': {
      const axis = normalize(findAttribute(node, 'axis')?.i ?? 1, rank)
      const outer = dims.slice(0, axis).reduce((product, dim) => product * dim, 1)
      return { dims: [outer, tensorElementCount(first) / outer], rawData: bytes() }
    }
    case 'Transpose': {
      const perm = findAttribute(node, 'perm')?.ints ?? dims.map((_, axis) => rank - 1 - axis)
      const sourceStrides = strides(dims)
      const out = perm.map((axis) => dims[axis] ?? 1)
      return { dims: out, rawData: gather(first, out, (index) => index.reduce((sum, value, axis) => sum + value * (sourceStrides[perm[axis] ?? 0] ?? 0), 0)) }
    }
    case 'Concat': {
      const axis = normalize(findAttribute(node, 'axis')?.i ?? 0, rank)
      if (inputs.some((input) => input.dataType !== first.dataType || input.dims.length !== rank)) return undefined
      const out = [...dims]
      out[axis] = inputs.reduce((sum, input) => sum + (input.dims[axis] ?? 0), 0)
      const elementBytes = dataTypeBits(first.dataType) / 8
      const outer = dims.slice(0, axis).reduce((product, dim) => product * dim, 1)
      const chunks = inputs.map((input) => ({ bytes: tensorRawBytes(input), chunk: input.dims.slice(axis).reduce((product, dim) => product * dim, 1) * elementBytes }))
      const rawData = new Uint8Array(out.reduce((product, dim) => product * dim, 1) * elementBytes)
      let position = 0
      for (let block = 0; block < outer; block++) {
        for (const { bytes: source, chunk } of chunks) {
          rawData.set(source.subarray(block * chunk, (block + 1) * chunk), position)
          position += chunk
        }
      }
      return { dims: out, rawData }
    }
    case 'Slice': {
      const starts = intsInput(scope, node, 1, 'starts')
      const ends = intsInput(scope, node, 2, 'ends')
      const givenAxes = intsInput(scope, node, 3, 'axes')
      const givenSteps = intsInput(scope, node, 4, 'steps')
      // null: the input exists but is not a constant.
      if (!starts || !ends || givenAxes === null || givenSteps === null) return undefined
      const axes = givenAxes ?? starts.map((_, index) => index)
      const steps = givenSteps ?? starts.map(() => 1)
      const begin = dims.map(() => 0)
      const step = dims.map(() => 1)
      const out = [...dims]
      for (const [index, rawAxis] of axes.entries()) {
        const axis = normalize(rawAxis, rank)
        const size = dims[axis] ?? 0
        const stride = steps[index] ?? 1
        if (stride <= 0) return undefined
        const clamp = (value: number) => Math.min(size, Math.max(0, value < 0 ? value + size : value))
        const from = clamp(starts[index] ?? 0)
        const to = clamp(ends[index] ?? size)
        begin[axis] = from
        step[axis] = stride
        out[axis] = Math.max(0, Math.ceil((to - from) / stride))
      }
      const sourceStrides = strides(dims)
      return { dims: out, rawData: gather(first, out, (index) => index.reduce((sum, value, axis) => sum + ((begin[axis] ?? 0) + value * (step[axis] ?? 1)) * (sourceStrides[axis] ?? 0), 0)) }
    }
    default:
      return undefined
  }
}

function foldGraph(scope: Scope, opset: number, replaced: Set<string>): number {
  let folded = 0
  const kept: OnnxNode[] = []
  for (const node of scope.graph.node) {
    for (const subgraph of nodeSubgraphs(node)) folded += foldGraph({ graph: subgraph, parent: scope, path: `${scope.path}/sub` }, opset, replaced)
    const output = node.output[0]
    const dataInputs = node.opType === 'Concat' ? node.input : node.input.slice(0, 1)
    const sources = dataInputs.map((name) => (name ? findConstant(scope, name) : undefined))
    if (!isDefaultDomain(node.domain) || !foldableOps.has(node.opType ?? '') || node.output.length !== 1 || !output || sources.some((source) => source === undefined)) {
      kept.push(node)
      continue
    }
    const tensors = sources.map((source) => source?.tensor as OnnxTensor)
    const result = evaluate(scope, node, tensors, opset)
    if (result === undefined || result.dims.reduce((product, dim) => product * dim, 1) > MAX_FOLDED_ELEMENTS) {
      kept.push(node)
      continue
    }
    scope.graph.initializer.push({ name: output, dataType: tensors[0]?.dataType ?? 1, dims: result.dims, rawData: result.rawData })
    for (const name of node.input) if (name) replaced.add(name)
    folded++
  }
  scope.graph.node = kept
  return folded
}

/** Folds constant layout chains in place (pass a structural clone); returns how many nodes became initializers. */
export function foldConstants(model: OnnxModel): number {
  if (model.graph === undefined) return 0
  const replaced = new Set<string>()
  const folded = foldGraph({ graph: model.graph, parent: undefined, path: 'main' }, defaultOpsetVersion(model) ?? 1, replaced)
  if (folded > 0) removeUnusedConstants(model, replaced)
  return folded
}

/**
 * Element-type inference for ONNX values (dtype only, no shapes): enough for recipes that must know which values
 * are float32 (fp16 conversion, quantization). Declared types (value_info, graph inputs/outputs, initializers) win;
 * otherwise per-operator rules derive the output type from inputs or attributes. Unknown stays undefined.
 */
import { findAttribute, isDefaultDomain, type OnnxGraph, type OnnxNode } from './onnxModel.ts'
import { TensorDataType } from './tensorData.ts'

export type ElementTypes = Map<string, number | undefined>

/** Names a graph defines itself: inputs, initializers, sparse initializers and node outputs. */
export function definedNames(graph: OnnxGraph): Set<string> {
  const names = new Set<string>()
  for (const v of graph.input) if (v.name) names.add(v.name)
  for (const t of graph.initializer) if (t.name) names.add(t.name)
  for (const s of graph.sparseInitializer ?? []) if (s.values?.name) names.add(s.values.name)
  for (const n of graph.node) for (const o of n.output) if (o) names.add(o)
  return names
}

export function nodeSubgraphs(node: OnnxNode): OnnxGraph[] {
  const out: OnnxGraph[] = []
  for (const a of node.attribute) {
    if (a.g !== undefined) out.push(a.g)
    for (const g of a.graphs ?? []) out.push(g)
  }
  return out
}

/** Outer-scope names a graph (or any graph nested in it) reads without defining them. */
export function freeVariables(graph: OnnxGraph): Set<string> {
  const defined = definedNames(graph)
  const free = new Set<string>()
  for (const node of graph.node) {
    for (const input of node.input) if (input && !defined.has(input)) free.add(input)
    for (const sub of nodeSubgraphs(node)) for (const name of freeVariables(sub)) if (!defined.has(name)) free.add(name)
  }
  for (const output of graph.output) if (output.name && !defined.has(output.name)) free.add(output.name)
  return free
}

/** Outer-scope names read by the subgraphs of one node (its implicit inputs). */
export function implicitInputs(node: OnnxNode): Set<string> {
  const names = new Set<string>()
  for (const sub of nodeSubgraphs(node)) for (const name of freeVariables(sub)) names.add(name)
  return names
}

function declaredTypes(graph: OnnxGraph): Map<string, number> {
  const types = new Map<string, number>()
  for (const v of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    const elem = v.type?.tensorType?.elemType
    if (v.name && elem !== undefined && elem !== 0) types.set(v.name, elem)
  }
  for (const t of graph.initializer) if (t.name && t.dataType !== undefined) types.set(t.name, t.dataType)
  for (const s of graph.sparseInitializer ?? []) if (s.values?.name && s.values.dataType !== undefined) types.set(s.values.name, s.values.dataType)
  return types
}

const boolOutputOps = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf'])
const int64OutputOps = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression'])
const sequenceOps = new Set(['SequenceConstruct', 'SequenceEmpty', 'SequenceInsert', 'SequenceErase', 'SplitToSequence', 'SequenceMap', 'Optional', 'OptionalGetElement', 'OptionalHasElement'])

function attributeDtype(node: OnnxNode, name: string): number | undefined {
  const a = findAttribute(node, name)
  return a?.i
}

function constantType(node: OnnxNode): number | undefined {
  for (const a of node.attribute) {
    if (a.name === 'value' && a.t !== undefined) return a.t.dataType
    if (a.name === 'sparse_value') return a.sparseTensor?.values?.dataType
    if (a.name === 'value_float' || a.name === 'value_floats') return TensorDataType.FLOAT
    if (a.name === 'value_int' || a.name === 'value_ints') return TensorDataType.INT64
    if (a.name === 'value_string' || a.name === 'value_strings') return TensorDataType.STRING
  }
  return undefined
}

/** Output element types of one node, by operator rule; undefined where the rule does not know. */
function ruleOutputTypes(node: OnnxNode, typeOf: (name: string) => number | undefined, subgraphOutputTypes: (graph: OnnxGraph, inputTypes: Array<number | undefined>) => Array<number | undefined>): Array<number | undefined> {
  const input = (i: number): number | undefined => {
    const name = node.input[i]
    return name ? typeOf(name) : undefined
  }
  const all = (type: number | undefined): Array<number | undefined> => node.output.map(() => type)
  if (!isDefaultDomain(node.domain)) {
    // com.microsoft contrib ops mostly follow their first input; unknown domains are not guessed.
    return node.domain === 'com.microsoft' ? all(input(0)) : all(undefined)
  }
  const op = node.opType ?? ''
  if (boolOutputOps.has(op)) return all(TensorDataType.BOOL)
  if (int64OutputOps.has(op)) return all(TensorDataType.INT64)
  if (sequenceOps.has(op)) return all(undefined)
  switch (op) {
    case 'Cast':
      return all(attributeDtype(node, 'to'))
    case 'CastLike':
      return all(input(1))
    case 'Constant':
      return all(constantType(node))
    case 'ConstantOfShape': {
      const value = findAttribute(node, 'value')?.t
      return all(value?.dataType ?? TensorDataType.FLOAT)
    }
    case 'EyeLike':
    case 'RandomNormalLike':
    case 'RandomUniformLike':
    case 'Bernoulli':
      return all(attributeDtype(node, 'dtype') ?? input(0))
    case 'RandomNormal':
    case 'RandomUniform':
      return all(attributeDtype(node, 'dtype') ?? TensorDataType.FLOAT)
    case 'Multinomial':
      return all(attributeDtype(node, 'dtype') ?? TensorDataType.INT32)
    case 'TopK':
    case 'MaxPool':
      return [input(0), TensorDataType.INT64]
    case 'Unique':
      return [input(0), TensorDataType.INT64, TensorDataType.INT64, TensorDataType.INT64]
    case 'Dropout':
      return [input(0), TensorDataType.BOOL]
    case 'LayerNormalization':
      // Mean and InvStdDev use the stash type (float32 unless stash_type says otherwise), not T.
      return [input(0), attributeDtype(node, 'stash_type') ?? TensorDataType.FLOAT, attributeDtype(node, 'stash_type') ?? TensorDataType.FLOAT]
    case 'QuantizeLinear':
      return all(input(2) ?? attributeDtype(node, 'output_dtype') ?? TensorDataType.UINT8)
    case 'DequantizeLinear':
      return all(input(1))
    case 'DynamicQuantizeLinear':
      return [TensorDataType.UINT8, TensorDataType.FLOAT, TensorDataType.UINT8]
    case 'MatMulInteger':
    case 'ConvInteger':
      return all(TensorDataType.INT32)
    case 'QLinearConv':
    case 'QLinearMatMul':
      return all(input(7))
    case 'Where':
      return all(input(1))
    case 'OneHot':
      return all(input(2))
    case 'ConcatFromSequence':
    case 'SequenceAt':
    case 'SequenceLength':
      return op === 'SequenceLength' ? all(TensorDataType.INT64) : all(undefined)
    case 'If': {
      const then = findAttribute(node, 'then_branch')?.g
      return then === undefined ? all(undefined) : subgraphOutputTypes(then, [])
    }
    case 'Loop': {
      const body = findAttribute(node, 'body')?.g
      const carried = node.input.slice(2).map((name) => (name ? typeOf(name) : undefined))
      if (body === undefined) return all(undefined)
      const bodyOutputs = subgraphOutputTypes(body, [TensorDataType.INT64, TensorDataType.BOOL, ...carried])
      return node.output.map((_, i) => (i < carried.length ? carried[i] : bodyOutputs[i + 1]))
    }
    case 'Scan': {
      const body = findAttribute(node, 'body')?.g
      if (body === undefined) return all(undefined)
      return subgraphOutputTypes(body, node.input.map((name) => (name ? typeOf(name) : undefined)))
    }
    default:
      return all(input(0))
  }
}

/**
 * Element types of every value visible in `graph` (its own values plus `outer`), for a graph whose inputs have
 * `inputTypes` when their value_info does not say.
 */
export function inferElementTypes(graph: OnnxGraph, outer: ReadonlyMap<string, number | undefined> = new Map(), inputTypes: ReadonlyArray<number | undefined> = []): ElementTypes {
  const types: ElementTypes = new Map(outer)
  const declared = declaredTypes(graph)
  graph.input.forEach((v, i) => {
    if (v.name) types.set(v.name, declared.get(v.name) ?? inputTypes[i])
  })
  for (const [name, type] of declared) types.set(name, type)
  const subgraphOutputTypes = (sub: OnnxGraph, subInputs: Array<number | undefined>): Array<number | undefined> => {
    const inner = inferElementTypes(sub, types, subInputs)
    return sub.output.map((o) => (o.name ? inner.get(o.name) : undefined))
  }
  for (const node of graph.node) {
    const ruled = ruleOutputTypes(node, (name) => types.get(name), subgraphOutputTypes)
    node.output.forEach((name, i) => {
      if (name) types.set(name, declared.get(name) ?? ruled[i])
    })
  }
  return types
}

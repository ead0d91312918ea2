/**
 * The int8-static recipe in QDQ format (anchors-quantization.md §2): every activation read or written by a quantized
 * node passes through QuantizeLinear → DequantizeLinear with a scale from calibration; weights are stored int8
 * (symmetric, per channel on request: Conv axis 0, ConvTranspose axis 1, MatMul axis 1, Gemm axis 0 or 1 by transB)
 * behind a DequantizeLinear; Conv/Gemm biases become int32 with scale input_scale * weight_scale.
 * onnxruntime turns DQ → op → Q groups into QLinearConv / QLinearMatMul / QGemm at session load.
 * Only the main graph is quantized; subgraph bodies stay float (they still read the dequantized values).
 * Two steps because calibration runs the model: planStaticQuantization names the tensors to calibrate, then
 * quantizeStatic rewrites the model with their ranges. Pure.
 */
import { AppError } from '../../../src-shared/errors.ts'
import { type OnnxGraph, type OnnxModel, type OnnxNode, attr, attributeInt, defaultOpsetVersion, isDefaultDomain, makeNode } from '../packaging/onnxModel.ts'
import { TensorDataType, float32Tensor, readTensorAsFloat32, tensorFromRawBytes } from '../packaging/tensorData.ts'
import type { TensorRange } from './calibration.ts'
import {
  type ConstantSource,
  type NameAllocator,
  type Scope,
  cloneModelStructure,
  createNameAllocator,
  findConstant,
  insertAfterProducer,
  isFloat32Constant,
  countUsesInGraph,
  nodeSubgraphs,
  removeUnusedConstants,
} from './graphTools.ts'
import { type QuantType, type QuantizedTensor, computeQuantParams, minimumWeightScaleForBias, quantRange, quantizeBias, quantizeTensor } from './quantParams.ts'
import { type QuantizationReport, type QuantizationResult, nodeDisplayName } from './quantizationReport.ts'
import { foldBatchNormalization } from './foldBatchNorm.ts'
import { foldConstants } from './foldConstants.ts'
import { upgradeOpset } from './upgradeOpset.ts'

/** Operators with a weight input (index 1) that is quantized as a weight rather than as an activation. */
const weightedOps = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm'])
export const defaultStaticOpTypes = ['Conv', 'ConvTranspose', 'MatMul', 'Gemm'] as const

export interface StaticQuantizationOptions {
  /** Per-channel weights (needs opset 13 for DequantizeLinear's axis). Default false. */
  perChannel?: boolean
  /** Operators whose inputs and outputs get QDQ; default Conv, ConvTranspose, MatMul, Gemm. Others (Add, Mul,
   * MaxPool, ...) are wrapped generically: their float inputs and first output. */
  opTypes?: readonly string[]
  /** Activation type; default uint8 (asymmetric), onnxruntime's well-trodden u8s8 CPU path. */
  activationType?: QuantType
  /** Symmetric activations (zero point at the middle). Default false. */
  activationSymmetric?: boolean
  /** 7-bit weights for CPUs without VNNI. Default false. */
  reduceRange?: boolean
  /** Node names (or first output names) to keep in float, e.g. the first Conv or the classifier head. */
  nodesToExclude?: readonly string[]
  /** Fold BatchNormalization into the preceding Conv first (default true), as onnxruntime's pre-processing does. */
  foldBatchNorm?: boolean
}

export interface StaticQuantizationPlan {
  /** The model calibration must run: the input after BatchNormalization folding (tensor names as in the plan). */
  preparedModel: OnnxModel
  /** Main-graph tensors whose ranges calibration must provide. */
  tensorsToCalibrate: string[]
}

/** QuantizeLinear/DequantizeLinear exist from opset 10; their 'axis' (per channel) from opset 13. */
const QDQ_OPSET = 10
const PER_CHANNEL_OPSET = 13

interface SelectedNode {
  node: OnnxNode
  /** Inputs quantized as activations (calibrated). */
  activations: string[]
  /** The weight input (constant float32), for weighted ops. */
  weight: ConstantSource | undefined
  /** The tensor whose QDQ follows the node: its output, or the output of the Relu it absorbs. */
  output: string | undefined
  /** A Relu reading only this node's output: asymmetric quantization of its output clamps at 0 already, so
   * onnxruntime's default (QDQKeepRemovableActivations=False) drops it. */
  absorbedRelu: OnnxNode | undefined
}

function excludedNames(options: StaticQuantizationOptions): Set<string> {
  return new Set(options.nodesToExclude ?? [])
}

function checkOpset(model: OnnxModel, options: StaticQuantizationOptions): void {
  const opset = defaultOpsetVersion(model) ?? 1
  if (options.perChannel && opset < PER_CHANNEL_OPSET) {
    throw new AppError(
      'model-unsupported',
      `Per-channel int8-static quantization needs opset ${PER_CHANNEL_OPSET} or later (DequantizeLinear's axis), but the model uses opset ${opset}; quantize per tensor or export the model at opset ${PER_CHANNEL_OPSET}+.`,
      { opset, required: PER_CHANNEL_OPSET },
    )
  }
}

/** Picks the main-graph nodes to quantize and which of their inputs are activations. */
function selectNodes(graph: OnnxGraph, options: StaticQuantizationOptions): SelectedNode[] {
  const opTypes = new Set(options.opTypes ?? defaultStaticOpTypes)
  const excluded = excludedNames(options)
  const scope: Scope = { graph, parent: undefined, path: 'main' }
  const uses = countUsesInGraph(graph)
  const graphOutputs = new Set(graph.output.map((output) => output.name ?? ''))
  const reluAfter = (output: string | undefined): OnnxNode | undefined => {
    if (!output || (uses.get(output) ?? 0) !== 1 || graphOutputs.has(output) || opTypes.has('Relu') || options.activationSymmetric) return undefined
    const relu = graph.node.find((node) => node.opType === 'Relu' && isDefaultDomain(node.domain) && node.input[0] === output)
    return relu?.output[0] && !graphOutputs.has(relu.output[0]) ? relu : undefined
  }
  const selected: SelectedNode[] = []
  for (const node of graph.node) {
    if (!isDefaultDomain(node.domain) || !opTypes.has(node.opType ?? '')) continue
    if (excluded.has(node.name ?? '') || excluded.has(node.output[0] ?? '')) continue
    const opType = node.opType ?? ''
    const isConstant = (name: string) => findConstant(scope, name) !== undefined
    if (weightedOps.has(opType)) {
      const input = node.input[0]
      const weightName = node.input[1]
      if (!input || !weightName) continue
      const weight = findConstant(scope, weightName)
      if (opType === 'Gemm' && (attributeInt(node, 'transA') ?? 0) !== 0) continue
      const absorbedRelu = reluAfter(node.output[0])
      const output = absorbedRelu?.output[0] ?? node.output[0]
      if (isFloat32Constant(weight)) {
        selected.push({ node, activations: [input], weight, output, absorbedRelu })
      } else if (weight === undefined && opType === 'MatMul') {
        // Activation × activation MatMul: both inputs are calibrated.
        selected.push({ node, activations: [input, weightName], weight: undefined, output, absorbedRelu })
      }
      continue
    }
    const activations = node.input.filter((name) => name !== '' && !isConstant(name))
    if (activations.length > 0) selected.push({ node, activations, weight: undefined, output: node.output[0], absorbedRelu: undefined })
  }
  return selected
}

/** Validates the options against the model and lists the tensors calibration must measure. */
export function planStaticQuantization(model: OnnxModel, options: StaticQuantizationOptions = {}): StaticQuantizationPlan {
  const preparedModel = prepare(model, options)
  const tensors = new Set<string>()
  for (const selected of selectNodes(preparedModel.graph as OnnxGraph, options)) {
    for (const name of selected.activations) tensors.add(name)
    if (selected.output) tensors.add(selected.output)
  }
  return { preparedModel, tensorsToCalibrate: [...tensors] }
}

/** Validates, clones and folds BatchNormalization (idempotent, so plan and rewrite see the same graph). */
function prepare(model: OnnxModel, options: StaticQuantizationOptions): OnnxModel {
  if (model.graph === undefined) throw new AppError('model-invalid', 'The model has no graph to quantize.')
  checkOpset(model, options)
  const prepared = cloneModelStructure(model)
  foldConstants(prepared)
  if (options.foldBatchNorm ?? true) foldBatchNormalization(prepared)
  return prepared
}

interface ActivationQdq {
  scale: number
  scaleName: string
  dequantized: string
}

interface State {
  names: NameAllocator
  graph: OnnxGraph
  options: StaticQuantizationOptions
  activations: Map<string, ActivationQdq>
  weights: Map<string, { dequantized: string; tensor: QuantizedTensor }>
  zeroPoints: Map<string, string>
  replaced: Set<string>
  report: QuantizationReport
}

/**
 * A zero-point initializer shared by every tensor with the same type, value and length: QDQ models carry hundreds of
 * them, and on small models their names and framing cost more than the int8 weights save.
 */
function sharedZeroPoint(state: State, type: 'int8' | 'uint8' | 'int32', value: number, length: number | undefined): string {
  const key = `${type}|${value}|${length ?? 'scalar'}`
  const existing = state.zeroPoints.get(key)
  if (existing !== undefined) return existing
  const name = state.names.unique(`zp_${type}_${value}${length === undefined ? '' : `_x${length}`}`)
  const count = length ?? 1
  const data = type === 'int8' ? new Int8Array(count).fill(value) : type === 'uint8' ? new Uint8Array(count).fill(value) : new Int32Array(count).fill(value)
  const dataType = type === 'int8' ? TensorDataType.INT8 : type === 'uint8' ? TensorDataType.UINT8 : TensorDataType.INT32
  state.graph.initializer.unshift(tensorFromRawBytes(name, dataType, length === undefined ? [] : [length], new Uint8Array(data.buffer)))
  state.zeroPoints.set(key, name)
  return name
}

/** Adds Q → DQ after the tensor's producer (once per tensor) and returns the dequantized name. */
function quantizeActivation(state: State, tensor: string, range: TensorRange): ActivationQdq {
  const existing = state.activations.get(tensor)
  if (existing !== undefined) return existing
  const type = state.options.activationType ?? 'uint8'
  const symmetric = state.options.activationSymmetric ?? false
  const params = computeQuantParams(range.min, range.max, quantRange(type, { symmetric }), { symmetric })
  // Short suffixes and unnamed Q/DQ nodes: on a 0.5 MB CNN the names alone would cost 10% of the file.
  const scaleName = state.names.unique(`${tensor}_scale`)
  const zeroPointName = sharedZeroPoint(state, type, params.zeroPoint, undefined)
  const quantized = state.names.unique(`${tensor}_q`)
  const dequantized = state.names.unique(`${tensor}_dq`)
  state.graph.initializer.push(float32Tensor(scaleName, [], [params.scale]))
  insertAfterProducer(state.graph, tensor, [
    makeNode('QuantizeLinear', [tensor, scaleName, zeroPointName], [quantized]),
    makeNode('DequantizeLinear', [quantized, scaleName, zeroPointName], [dequantized]),
  ])
  const qdq = { scale: params.scale, scaleName, dequantized }
  state.activations.set(tensor, qdq)
  return qdq
}

/** The per-channel axis of a weighted node's weight (ORT's QDQ defaults), or undefined for per tensor. */
function channelAxis(node: OnnxNode, rank: number, perChannel: boolean): number | undefined {
  if (!perChannel) return undefined
  switch (node.opType) {
    case 'Conv':
      return 0
    case 'ConvTranspose':
      return 1
    case 'MatMul':
      return rank === 2 ? 1 : undefined
    case 'Gemm':
      return (attributeInt(node, 'transB') ?? 0) !== 0 ? 0 : 1
    default:
      return undefined
  }
}

/** int8 weight + DequantizeLinear, shared by nodes reading the same weight with the same layout and scale floor. */
function quantizeWeight(state: State, source: ConstantSource, axis: number | undefined, minimumScale: Float32Array | undefined) {
  const base = source.tensor.name ?? 'weight'
  const key = `${base}|${axis}|${minimumScale === undefined ? '' : Array.from(minimumScale).join(',')}`
  const cached = state.weights.get(key)
  if (cached !== undefined) return cached
  const tensor = quantizeTensor(readTensorAsFloat32(source.tensor), source.tensor.dims, {
    type: 'int8',
    symmetric: true,
    ...(state.options.reduceRange ? { reduceRange: true } : {}),
    ...(axis === undefined ? {} : { axis }),
    ...(minimumScale === undefined ? {} : { minimumScale }),
  })
  const paramDims = axis === undefined ? [] : [tensor.scales.length]
  const quantizedName = state.names.unique(`${base}_q`)
  const scaleName = state.names.unique(`${base}_scale`)
  // Symmetric int8 weights always have zero point 0.
  const zeroPointName = sharedZeroPoint(state, 'int8', 0, axis === undefined ? undefined : tensor.scales.length)
  const dequantized = state.names.unique(`${base}_dq`)
  source.owner.initializer.push(
    tensorFromRawBytes(quantizedName, TensorDataType.INT8, source.tensor.dims, new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength)),
    float32Tensor(scaleName, paramDims, tensor.scales),
  )
  // Weights live in the main graph here, so the DequantizeLinear goes at the top.
  insertAfterProducer(state.graph, base, [
    makeNode('DequantizeLinear', [quantizedName, scaleName, zeroPointName], [dequantized], {
      attribute: axis === undefined ? [] : [attr.int('axis', axis)],
    }),
  ])
  const entry = { dequantized, tensor }
  state.weights.set(key, entry)
  state.replaced.add(base)
  state.report.quantizedWeightCount++
  return entry
}

/** Replaces a Conv/Gemm float bias by int32 + DequantizeLinear (scale input_scale * weight_scale, zero point 0). */
function quantizeNodeBias(state: State, node: OnnxNode, inputScale: number, weight: QuantizedTensor, channelCount: number): boolean {
  const biasName = node.input[2]
  if (!biasName) return false
  const source = findConstant({ graph: state.graph, parent: undefined, path: 'main' }, biasName)
  if (!isFloat32Constant(source) || source.tensor.dims.length !== 1 || source.tensor.dims[0] !== channelCount) return false
  const bias = quantizeBias(readTensorAsFloat32(source.tensor), inputScale, weight.scales)
  state.report.biasClippedCount += bias.clippedCount
  const isPerChannel = weight.axis !== undefined
  const quantizedName = state.names.unique(`${biasName}_q`)
  const scaleName = state.names.unique(`${biasName}_scale`)
  const zeroPointName = sharedZeroPoint(state, 'int32', 0, isPerChannel ? bias.scales.length : undefined)
  const dequantized = state.names.unique(`${biasName}_dq`)
  const paramDims = isPerChannel ? [bias.scales.length] : []
  state.graph.initializer.push(
    tensorFromRawBytes(quantizedName, TensorDataType.INT32, [channelCount], new Uint8Array(bias.data.buffer)),
    float32Tensor(scaleName, paramDims, bias.scales),
  )
  insertAfterProducer(state.graph, biasName, [
    makeNode('DequantizeLinear', [quantizedName, scaleName, zeroPointName], [dequantized], {
      attribute: isPerChannel ? [attr.int('axis', 0)] : [],
    }),
  ])
  node.input[2] = dequantized
  state.replaced.add(biasName)
  return true
}

/** The output channel count of a weighted node (the length its bias must have). */
function outputChannels(node: OnnxNode, dims: readonly number[]): number {
  switch (node.opType) {
    case 'Conv':
      return dims[0] ?? 0
    case 'ConvTranspose':
      return (dims[1] ?? 0) * (attributeInt(node, 'group') ?? 1)
    case 'Gemm':
      return ((attributeInt(node, 'transB') ?? 0) !== 0 ? dims[0] : dims[1]) ?? 0
    default:
      return dims[dims.length - 1] ?? 0
  }
}

/** Rewires every reader of `from` (main graph and the subgraphs it feeds) to `to`, except the given nodes. */
function rewireReaders(graph: OnnxGraph, from: string, to: string, except: ReadonlySet<OnnxNode>): void {
  for (const node of graph.node) {
    if (except.has(node)) continue
    node.input = node.input.map((name) => (name === from ? to : name))
    for (const subgraph of nodeSubgraphs(node)) rewireReaders(subgraph, from, to, except)
  }
}

/**
 * Rewrites the model to QDQ with the calibrated ranges. Nodes whose activations have no range (e.g. not float)
 * stay float and are listed in the report. The input model is not modified.
 */
export function quantizeStatic(source: OnnxModel, ranges: ReadonlyMap<string, TensorRange>, options: StaticQuantizationOptions = {}): QuantizationResult {
  const model = prepare(source, options)
  const opsetUpgrade = upgradeOpset(model, QDQ_OPSET)
  const graph = model.graph as OnnxGraph
  const state: State = {
    names: createNameAllocator(model),
    graph,
    options,
    activations: new Map(),
    weights: new Map(),
    zeroPoints: new Map(),
    replaced: new Set(),
    report: {
      recipe: 'int8-static',
      quantizedNodes: [],
      skippedNodes: [],
      quantizedWeightCount: 0,
      removedFloatWeights: [],
      opsetUpgrade: opsetUpgrade.fromOpset === opsetUpgrade.toOpset ? undefined : opsetUpgrade,
      biasClippedCount: 0,
      removedActivations: [],
    },
  }
  for (const selected of selectNodes(graph, options)) {
    const { node } = selected
    const missing = selected.activations.find((name) => !ranges.has(name))
    if (missing !== undefined) {
      state.report.skippedNodes.push({
        node: nodeDisplayName(node),
        opType: node.opType ?? '',
        graphPath: 'main',
        reason: `Calibration produced no float range for its input ${missing}.`,
      })
      continue
    }
    const inputs = selected.activations.map((name) => ({ name, qdq: quantizeActivation(state, name, ranges.get(name) as TensorRange) }))
    const output = selected.output
    const outputRange = output === undefined ? undefined : ranges.get(output)
    const relu = selected.absorbedRelu
    // Dropping the Relu is exact only when the output range is [0, max > 0]: then the zero point is the lowest level
    // and QuantizeLinear clamps negatives to 0. A dead Relu (max 0) keeps its node.
    if (relu !== undefined && output !== undefined && outputRange !== undefined && outputRange.max > 0) {
      node.output[0] = output
      graph.node = graph.node.filter((candidate) => candidate !== relu)
      state.report.removedActivations.push(nodeDisplayName(relu))
    }
    if (output !== undefined && outputRange !== undefined) quantizeActivation(state, output, outputRange)
    for (const { name, qdq } of inputs) node.input = node.input.map((input) => (input === name ? qdq.dequantized : input))
    let perChannel = false
    if (selected.weight !== undefined) {
      const dims = selected.weight.tensor.dims
      const axis = channelAxis(node, dims.length, options.perChannel ?? false)
      perChannel = axis !== undefined
      const inputScale = inputs[0]?.qdq.scale ?? 1
      const channels = outputChannels(node, dims)
      // A tiny input scale times a tiny weight scale would overflow the int32 bias: floor the weight scale.
      const biasSource = node.input[2] ? findConstant({ graph, parent: undefined, path: 'main' }, node.input[2]) : undefined
      let minimumScale: Float32Array | undefined
      if (isFloat32Constant(biasSource) && (node.opType === 'Conv' || node.opType === 'Gemm')) {
        const bias = readTensorAsFloat32(biasSource.tensor)
        const floors = Float32Array.from({ length: axis === undefined ? 1 : channels }, (_, channel) =>
          minimumWeightScaleForBias(axis === undefined ? bias.reduce((max, value) => Math.max(max, Math.abs(value)), 0) : Math.abs(bias[channel] ?? 0), inputScale),
        )
        if (floors.some((floor) => floor > 0)) minimumScale = floors
      }
      const weight = quantizeWeight(state, selected.weight, axis, minimumScale)
      node.input[1] = weight.dequantized
      if (node.opType === 'Conv' || node.opType === 'Gemm') quantizeNodeBias(state, node, inputScale, weight.tensor, channels)
    }
    state.report.quantizedNodes.push({ node: nodeDisplayName(node), opType: node.opType ?? '', graphPath: 'main', emitted: 'QDQ', perChannel })
  }
  // Every other reader of a quantized tensor reads the dequantized value too, so onnxruntime sees op → Q only and can
  // fuse. Graph outputs keep the float value.
  const qdqNodes = new Set(graph.node.filter((node) => node.opType === 'QuantizeLinear'))
  for (const [tensor, qdq] of state.activations) rewireReaders(graph, tensor, qdq.dequantized, qdqNodes)
  state.report.removedFloatWeights = removeUnusedConstants(model, state.replaced)
  return { model, report: state.report }
}

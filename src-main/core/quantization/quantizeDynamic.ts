/**
 * The int8-dynamic recipe: weights stored as int8, activations quantized at run time, emitting the node patterns
 * onnxruntime's quantize_dynamic emits (anchors-quantization.md §1.3-1.5) so stock onnxruntime runs them and fuses
 * them into MatMulIntegerToFloat / DynamicQuantizeMatMul on the CPU:
 *   A ─DynamicQuantizeLinear─► A_q, A_scale, A_zp
 *   MatMulInteger(A_q, B_q, A_zp, B_zp) ─Cast(float)─► Mul(·, Mul(A_scale, B_scale)) ─► original output
 * Gemm becomes that pattern plus Add(C) (onnxruntime rewrites Gemm to MatMul + Add first); Conv becomes ConvInteger
 * (per-tensor weights: the CPU kernel refuses per-channel zero points) plus a float bias Add; LSTM becomes
 * com.microsoft DynamicQuantizeLSTM. Subgraphs (If/Loop/Scan bodies) are quantized in place, their outer-scope
 * weights stored once in the graph that owns them. Pure.
 */
import { AppError } from '../../../src-shared/errors.ts'
import { type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, attr, attributeInt, findAttribute, makeNode } from '../packaging/onnxModel.ts'
import { TensorDataType, float32Tensor, int64Tensor, readTensorAsFloat32, tensorFromRawBytes } from '../packaging/tensorData.ts'
import {
  type ConstantSource,
  type NameAllocator,
  type Scope,
  cloneModelStructure,
  createNameAllocator,
  ensureOpsetImport,
  findConstant,
  insertAfterProducer,
  isFloat32Constant,
  removeUnusedConstants,
} from './graphTools.ts'
import { type QuantizedTensor, quantizeTensor } from './quantParams.ts'
import { type QuantizationReport, type QuantizationResult, nodeDisplayName } from './quantizationReport.ts'
import { foldBatchNormalization } from './foldBatchNorm.ts'
import { foldConstants } from './foldConstants.ts'
import { upgradeOpset } from './upgradeOpset.ts'

export const dynamicOpTypes = ['MatMul', 'Gemm', 'Conv', 'LSTM'] as const
export type DynamicOpType = (typeof dynamicOpTypes)[number]

export interface DynamicQuantizationOptions {
  /**
   * Per-channel weights for MatMul/Gemm (axis -1, the output columns) and LSTM (per gate row). Default false, as in
   * onnxruntime. Conv weights are always per output channel (see quantizeConv).
   */
  perChannel?: boolean
  /** 7-bit weights ([-64, 64]) for CPUs without VNNI where u8s8 products can saturate (pitfall 6). Default false. */
  reduceRange?: boolean
  /** Operators to quantize; default all of dynamicOpTypes. */
  opTypes?: readonly DynamicOpType[]
  /** Quantize inside If/Loop/Scan bodies (default true); false leaves them untouched. */
  quantizeSubgraphs?: boolean
  /** Node names (or first output names) to keep in float. */
  nodesToExclude?: readonly string[]
  /** Weights with fewer elements stay float: the scale/zero-point overhead outweighs the saving. Default 0. */
  minimumWeightElements?: number
  /** Fold BatchNormalization into the preceding Conv first (default true). */
  foldBatchNorm?: boolean
}

/** DynamicQuantizeLinear needs opset 11. */
const REQUIRED_OPSET = 11
const MICROSOFT_DOMAIN = 'com.microsoft'
/** DynamicQuantizeLSTM's attributes (onnxruntime contrib_defs); anything else on an LSTM makes us skip it. */
const lstmAttributes = new Set(['activation_alpha', 'activation_beta', 'activations', 'clip', 'direction', 'hidden_size', 'input_forget'])

interface ActivationNames {
  quantized: string
  scale: string
  zeroPoint: string
}

interface WeightNames {
  quantized: string
  scale: string
  zeroPoint: string
  perChannel: boolean
}

interface Emitted {
  nodes: OnnxNode[]
  perChannel: boolean
}

interface RewriteState {
  options: Required<Omit<DynamicQuantizationOptions, 'nodesToExclude'>> & { nodesToExclude: ReadonlySet<string> }
  names: NameAllocator
  /** One DynamicQuantizeLinear per activation per graph (a subgraph cannot see nodes added after its parent's). */
  activations: Map<OnnxGraph, Map<string, ActivationNames>>
  /** One int8 copy per weight and layout variant, shared by every node that reads it. */
  weights: Map<string, WeightNames>
  /** Derived float constants (reshaped or scaled biases), shared the same way. */
  derived: Map<string, string>
  replacedWeights: Set<string>
  report: QuantizationReport
  usesMicrosoftDomain: boolean
}

function skip(state: RewriteState, node: OnnxNode, scope: Scope, reason: string): undefined {
  state.report.skippedNodes.push({ node: nodeDisplayName(node), opType: node.opType ?? '', graphPath: scope.path, reason })
  return undefined
}

function dynamicQuantize(state: RewriteState, scope: Scope, activation: string): ActivationNames {
  let perGraph = state.activations.get(scope.graph)
  if (perGraph === undefined) {
    perGraph = new Map()
    state.activations.set(scope.graph, perGraph)
  }
  const existing = perGraph.get(activation)
  if (existing !== undefined) return existing
  const names: ActivationNames = {
    quantized: state.names.unique(`${activation}_quantized`),
    scale: state.names.unique(`${activation}_scale`),
    zeroPoint: state.names.unique(`${activation}_zero_point`),
  }
  const node = makeNode('DynamicQuantizeLinear', [activation], [names.quantized, names.scale, names.zeroPoint], {
    name: state.names.unique(`${activation}_QuantizeLinear`),
  })
  insertAfterProducer(scope.graph, activation, [node])
  perGraph.set(activation, names)
  return names
}

function int8Bytes(data: Int8Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

/** Stores a quantized weight (int8 data, float scale, int8 zero point) in the graph that owned the float weight. */
function storeWeight(
  state: RewriteState,
  source: ConstantSource,
  key: string,
  build: () => { tensor: QuantizedTensor; dataDims: number[]; paramDims: number[]; scaleDims?: number[] },
): WeightNames {
  const cached = state.weights.get(key)
  if (cached !== undefined) return cached
  const { tensor, dataDims, paramDims, scaleDims } = build()
  const base = source.tensor.name ?? 'weight'
  const names: WeightNames = {
    quantized: state.names.unique(`${base}_quantized`),
    scale: state.names.unique(`${base}_scale`),
    zeroPoint: state.names.unique(`${base}_zero_point`),
    perChannel: tensor.axis !== undefined,
  }
  source.owner.initializer.push(
    tensorFromRawBytes(names.quantized, TensorDataType.INT8, dataDims, int8Bytes(tensor.data)),
    float32Tensor(names.scale, scaleDims ?? paramDims, tensor.scales),
    tensorFromRawBytes(names.zeroPoint, TensorDataType.INT8, paramDims, int8Bytes(paramDims.length === 0 ? tensor.zeroPoints.subarray(0, 1) : tensor.zeroPoints)),
  )
  state.weights.set(key, names)
  state.replacedWeights.add(base)
  state.report.quantizedWeightCount++
  return names
}

function weightOptions(state: RewriteState, axis: number | undefined) {
  return { type: 'int8' as const, symmetric: true, ...(state.options.reduceRange ? { reduceRange: true } : {}), ...(axis === undefined ? {} : { axis }) }
}

/** A derived float constant (a bias reshaped or scaled offline), stored beside its source and shared. */
function storeDerived(state: RewriteState, source: ConstantSource, key: string, suffix: string, build: () => OnnxTensor): string {
  const cached = state.derived.get(key)
  if (cached !== undefined) return cached
  const name = state.names.unique(`${source.tensor.name ?? 'constant'}_${suffix}`)
  source.owner.initializer.push({ ...build(), name })
  state.derived.set(key, name)
  state.replacedWeights.add(source.tensor.name ?? '')
  return name
}

/** MatMulInteger → Cast → Mul(Mul(A_scale, B_scale)): the exact chain onnxruntime fuses (§1.4, pitfall 1). */
function integerChain(
  state: RewriteState,
  node: OnnxNode,
  integerOp: 'MatMulInteger' | 'ConvInteger',
  activation: ActivationNames,
  weight: WeightNames,
  output: string,
  attributes: OnnxNode['attribute'] = [],
): OnnxNode[] {
  const label = nodeDisplayName(node)
  const original = node.output[0] ?? label
  const integerOutput = state.names.unique(`${original}_output_quantized`)
  const castOutput = state.names.unique(`${integerOutput}_cast_output`)
  const scalesName = state.names.unique(`${label}_quant_scales_mul`)
  const scalesOutput = state.names.unique(`${scalesName}:0`)
  return [
    makeNode(integerOp, [activation.quantized, weight.quantized, activation.zeroPoint, weight.zeroPoint], [integerOutput], {
      name: state.names.unique(`${label}_quant`),
      attribute: attributes,
    }),
    makeNode('Cast', [integerOutput], [castOutput], { name: state.names.unique(`${integerOutput}_cast`), attribute: [attr.int('to', TensorDataType.FLOAT)] }),
    makeNode('Mul', [activation.scale, weight.scale], [scalesOutput], { name: scalesName }),
    makeNode('Mul', [castOutput, scalesOutput], [output], { name: state.names.unique(`${label}_quant_output_scale_mul`) }),
  ]
}

function tooSmall(state: RewriteState, tensor: OnnxTensor): boolean {
  return tensor.dims.reduce((product, dim) => product * dim, 1) < state.options.minimumWeightElements
}

function quantizeMatMul(state: RewriteState, scope: Scope, node: OnnxNode): Emitted | undefined {
  const [input, weightName] = node.input
  const output = node.output[0]
  if (!input || !weightName || !output) return skip(state, node, scope, 'It lacks an input or output.')
  const weight = findConstant(scope, weightName)
  // onnxruntime's MatMulConstBOnly: only a constant B is quantized; two activations stay float.
  if (!isFloat32Constant(weight)) return skip(state, node, scope, 'Input B is not a float32 constant.')
  if (weight.tensor.dims.length < 2) return skip(state, node, scope, 'Input B is one-dimensional.')
  if (tooSmall(state, weight.tensor)) return skip(state, node, scope, 'The weight is below the minimum size worth quantizing.')
  const dims = weight.tensor.dims
  const perChannel = state.options.perChannel && dims.length === 2
  const quantized = storeWeight(state, weight, `${weightName}|matmul|${perChannel}`, () => ({
    tensor: quantizeTensor(readTensorAsFloat32(weight.tensor), dims, weightOptions(state, perChannel ? 1 : undefined)),
    dataDims: dims,
    paramDims: perChannel ? [dims[1] ?? 1] : [],
  }))
  const activation = dynamicQuantize(state, scope, input)
  return { nodes: integerChain(state, node, 'MatMulInteger', activation, quantized, output), perChannel: quantized.perChannel }
}

function quantizeGemm(state: RewriteState, scope: Scope, node: OnnxNode): Emitted | undefined {
  const [input, weightName, biasName] = node.input
  const output = node.output[0]
  if (!input || !weightName || !output) return skip(state, node, scope, 'It lacks an input or output.')
  if ((attributeInt(node, 'transA') ?? 0) !== 0) return skip(state, node, scope, 'Gemm with transA=1 has no MatMul equivalent without a Transpose.')
  const weight = findConstant(scope, weightName)
  if (!isFloat32Constant(weight) || weight.tensor.dims.length !== 2) return skip(state, node, scope, 'Input B is not a 2-D float32 constant.')
  if (tooSmall(state, weight.tensor)) return skip(state, node, scope, 'The weight is below the minimum size worth quantizing.')
  const alpha = findAttribute(node, 'alpha')?.f ?? 1
  const beta = findAttribute(node, 'beta')?.f ?? 1
  const transB = (attributeInt(node, 'transB') ?? 0) !== 0
  let bias: string | undefined = biasName || undefined
  if (bias !== undefined && beta !== 1) {
    const source = findConstant(scope, bias)
    if (!isFloat32Constant(source)) return skip(state, node, scope, 'Gemm with beta != 1 needs a constant C to fold beta into.')
    bias = storeDerived(state, source, `${bias}|beta=${beta}`, 'scaled', () => {
      const values = readTensorAsFloat32(source.tensor).map((value) => value * beta)
      return float32Tensor('', source.tensor.dims, values)
    })
  }
  const [rows = 1, columns = 1] = weight.tensor.dims
  const dims = transB ? [columns, rows] : [rows, columns]
  const perChannel = state.options.perChannel
  // Gemm computes alpha * A * op(B): the transpose and alpha are applied to the weight once, offline.
  const quantized = storeWeight(state, weight, `${weightName}|gemm|${transB}|${alpha}|${perChannel}`, () => {
    const values = readTensorAsFloat32(weight.tensor)
    const matrix = transB ? transpose2d(values, rows, columns) : Float32Array.from(values)
    if (alpha !== 1) for (let index = 0; index < matrix.length; index++) matrix[index] = (matrix[index] ?? 0) * alpha
    return {
      tensor: quantizeTensor(matrix, dims, weightOptions(state, perChannel ? 1 : undefined)),
      dataDims: dims,
      paramDims: perChannel ? [dims[1] ?? 1] : [],
    }
  })
  const activation = dynamicQuantize(state, scope, input)
  const product = bias === undefined ? output : state.names.unique(`${output}_MatMul`)
  const nodes = integerChain(state, node, 'MatMulInteger', activation, quantized, product)
  if (bias !== undefined) nodes.push(makeNode('Add', [product, bias], [output], { name: state.names.unique(`${nodeDisplayName(node)}_Add`) }))
  return { nodes, perChannel: quantized.perChannel }
}

function transpose2d(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length)
  for (let row = 0; row < rows; row++) for (let column = 0; column < columns; column++) out[column * rows + row] = values[row * columns + column] ?? 0
  return out
}

function quantizeConv(state: RewriteState, scope: Scope, node: OnnxNode): Emitted | undefined {
  const [input, weightName, biasName] = node.input
  const output = node.output[0]
  if (!input || !weightName || !output) return skip(state, node, scope, 'It lacks an input or output.')
  const weight = findConstant(scope, weightName)
  if (!isFloat32Constant(weight) || weight.tensor.dims.length < 3) return skip(state, node, scope, 'The weight is not a float32 constant of rank 3 or more.')
  if (tooSmall(state, weight.tensor)) return skip(state, node, scope, 'The weight is below the minimum size worth quantizing.')
  const dims = weight.tensor.dims
  // ConvInteger takes only a scalar weight zero point, but symmetric weights have zero point 0 in every channel, so
  // per-channel scales can still be applied after the integer convolution, shaped [C, 1, ...] to broadcast over
  // [N, C, spatial...]. onnxruntime's quantizer keeps Conv per tensor; we always go per channel: it is exact, costs
  // C floats, and per-tensor Conv weights cost Silero VAD 1.3 points of frame agreement.
  const perChannel = true
  const quantized = storeWeight(state, weight, `${weightName}|conv|${perChannel}`, () => ({
    tensor: quantizeTensor(readTensorAsFloat32(weight.tensor), dims, weightOptions(state, perChannel ? 0 : undefined)),
    dataDims: dims,
    paramDims: [],
    scaleDims: perChannel ? [dims[0] ?? 1, ...new Array<number>(dims.length - 2).fill(1)] : [],
  }))
  const activation = dynamicQuantize(state, scope, input)
  const scaled = biasName ? state.names.unique(`${output}_scaled_output`) : output
  const nodes = integerChain(state, node, 'ConvInteger', activation, quantized, scaled, node.attribute)
  if (biasName) {
    // The bias [C] must broadcast over [N, C, spatial...]: reshape it to [1, C, 1, ...] (rank of the weight).
    const broadcastDims = [1, -1, ...new Array<number>(dims.length - 2).fill(1)]
    const bias = findConstant(scope, biasName)
    let reshaped: string
    if (isFloat32Constant(bias) && bias.tensor.dims.length === 1) {
      const channels = bias.tensor.dims[0] ?? 1
      reshaped = storeDerived(state, bias, `${biasName}|reshape|${dims.length}`, 'reshaped', () =>
        float32Tensor('', broadcastDims.map((dim) => (dim === -1 ? channels : dim)), readTensorAsFloat32(bias.tensor)),
      )
    } else {
      const shape = state.names.unique(`${biasName}_reshape_shape`)
      scope.graph.initializer.push(int64Tensor(shape, [broadcastDims.length], broadcastDims))
      reshaped = state.names.unique(`${biasName}_reshaped`)
      nodes.push(makeNode('Reshape', [biasName, shape], [reshaped], { name: state.names.unique(`${nodeDisplayName(node)}_bias_reshape`) }))
    }
    nodes.push(makeNode('Add', [scaled, reshaped], [output], { name: state.names.unique(`${nodeDisplayName(node)}_bias_add`) }))
  }
  return { nodes, perChannel: quantized.perChannel }
}

/** W [dirs, 4H, I] → int8 transposed to [dirs, I, 4H], scales per direction (or per gate row when per channel). */
function quantizeLstmWeight(state: RewriteState, source: ConstantSource, perChannel: boolean): WeightNames {
  return storeWeight(state, source, `${source.tensor.name ?? ''}|lstm|${perChannel}`, () => {
    const [directions = 1, gates = 1, width = 1] = source.tensor.dims
    const values = readTensorAsFloat32(source.tensor)
    const tensor = perChannel
      ? quantizeTensor(values, [directions * gates, width], weightOptions(state, 0))
      : quantizeTensor(values, [directions, gates, width], weightOptions(state, 0))
    const transposed = new Int8Array(tensor.data.length)
    for (let direction = 0; direction < directions; direction++) {
      const base = direction * gates * width
      for (let gate = 0; gate < gates; gate++) {
        for (let column = 0; column < width; column++) transposed[base + column * gates + gate] = tensor.data[base + gate * width + column] ?? 0
      }
    }
    return { tensor: { ...tensor, data: transposed }, dataDims: [directions, width, gates], paramDims: perChannel ? [directions, gates] : [directions] }
  })
}

function quantizeLstm(state: RewriteState, scope: Scope, node: OnnxNode): Emitted | undefined {
  const [, inputWeight, recurrentWeight] = node.input
  if (!inputWeight || !recurrentWeight) return skip(state, node, scope, 'It lacks its W or R input.')
  const w = findConstant(scope, inputWeight)
  const r = findConstant(scope, recurrentWeight)
  if (!isFloat32Constant(w) || !isFloat32Constant(r) || w.tensor.dims.length !== 3 || r.tensor.dims.length !== 3) {
    return skip(state, node, scope, 'W and R are not 3-D float32 constants.')
  }
  if ((attributeInt(node, 'layout') ?? 0) !== 0) return skip(state, node, scope, 'DynamicQuantizeLSTM has no batch-first layout.')
  const unknown = node.attribute.find((attribute) => attribute.name !== 'layout' && !lstmAttributes.has(attribute.name ?? ''))
  if (unknown !== undefined) return skip(state, node, scope, `DynamicQuantizeLSTM has no '${unknown.name}' attribute.`)
  if (tooSmall(state, w.tensor) && tooSmall(state, r.tensor)) return skip(state, node, scope, 'The weights are below the minimum size worth quantizing.')
  const perChannel = state.options.perChannel
  const wq = quantizeLstmWeight(state, w, perChannel)
  const rq = quantizeLstmWeight(state, r, perChannel)
  const optional = (index: number) => node.input[index] ?? ''
  state.usesMicrosoftDomain = true
  const nodes = [
    makeNode(
      'DynamicQuantizeLSTM',
      [optional(0), wq.quantized, rq.quantized, optional(3), optional(4), optional(5), optional(6), optional(7), wq.scale, wq.zeroPoint, rq.scale, rq.zeroPoint],
      [...node.output],
      {
        name: state.names.unique(`${nodeDisplayName(node)}_quant`),
        domain: MICROSOFT_DOMAIN,
        attribute: node.attribute.filter((attribute) => attribute.name !== 'layout'),
      },
    ),
  ]
  return { nodes, perChannel }
}

const emittedOperator: Record<DynamicOpType, string> = {
  MatMul: 'MatMulInteger',
  Gemm: 'MatMulInteger',
  Conv: 'ConvInteger',
  LSTM: 'DynamicQuantizeLSTM',
}

function quantizeNode(state: RewriteState, scope: Scope, node: OnnxNode): OnnxNode[] | undefined {
  if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') return undefined
  const opType = node.opType as DynamicOpType
  if (!state.options.opTypes.includes(opType)) return undefined
  if (state.options.nodesToExclude.has(node.name ?? '') || state.options.nodesToExclude.has(node.output[0] ?? '')) {
    return skip(state, node, scope, 'It is in the exclusion list.')
  }
  const quantizers: Record<DynamicOpType, (state: RewriteState, scope: Scope, node: OnnxNode) => Emitted | undefined> = {
    MatMul: quantizeMatMul,
    Gemm: quantizeGemm,
    Conv: quantizeConv,
    LSTM: quantizeLstm,
  }
  const emitted = quantizers[opType](state, scope, node)
  if (emitted === undefined) return undefined
  state.report.quantizedNodes.push({
    node: nodeDisplayName(node),
    opType,
    graphPath: scope.path,
    emitted: emittedOperator[opType],
    perChannel: emitted.perChannel,
  })
  return emitted.nodes
}

function rewriteGraph(state: RewriteState, scope: Scope): void {
  const original = scope.graph.node
  scope.graph.node = []
  original.forEach((node, index) => {
    if (state.options.quantizeSubgraphs) {
      for (const attribute of node.attribute) {
        const subgraphs = [...(attribute.g === undefined ? [] : [attribute.g]), ...(attribute.graphs ?? [])]
        for (const subgraph of subgraphs) {
          rewriteGraph(state, { graph: subgraph, parent: scope, path: `${scope.path}/${nodeDisplayName(node) || `node_${index}`}.${attribute.name ?? 'graph'}` })
        }
      }
    }
    scope.graph.node.push(...(quantizeNode(state, scope, node) ?? [node]))
  })
}

/** Quantizes a decoded model; the input model is not modified (tensor payloads are shared, never mutated). */
export function quantizeDynamic(source: OnnxModel, options: DynamicQuantizationOptions = {}): QuantizationResult {
  if (source.graph === undefined) throw new AppError('model-invalid', 'The model has no graph to quantize.')
  const model = cloneModelStructure(source)
  // Weights reached only through constant Slice/Concat/Unsqueeze chains (PyTorch LSTM exports) become constants.
  foldConstants(model)
  if (options.foldBatchNorm ?? true) foldBatchNormalization(model)
  const opsetUpgrade = upgradeOpset(model, REQUIRED_OPSET)
  const graph = model.graph as OnnxGraph
  const state: RewriteState = {
    options: {
      perChannel: options.perChannel ?? false,
      reduceRange: options.reduceRange ?? false,
      opTypes: options.opTypes ?? dynamicOpTypes,
      quantizeSubgraphs: options.quantizeSubgraphs ?? true,
      minimumWeightElements: options.minimumWeightElements ?? 0,
      foldBatchNorm: options.foldBatchNorm ?? true,
      nodesToExclude: new Set(options.nodesToExclude ?? []),
    },
    names: createNameAllocator(model),
    activations: new Map(),
    weights: new Map(),
    derived: new Map(),
    replacedWeights: new Set(),
    usesMicrosoftDomain: false,
    report: {
      recipe: 'int8-dynamic',
      quantizedNodes: [],
      skippedNodes: [],
      quantizedWeightCount: 0,
      removedFloatWeights: [],
      opsetUpgrade: opsetUpgrade.fromOpset === opsetUpgrade.toOpset ? undefined : opsetUpgrade,
      biasClippedCount: 0,
      removedActivations: [],
    },
  }
  rewriteGraph(state, { graph, parent: undefined, path: 'main' })
  if (state.usesMicrosoftDomain) ensureOpsetImport(model, MICROSOFT_DOMAIN, 1)
  state.report.removedFloatWeights = removeUnusedConstants(model, state.replacedWeights)
  return { model, report: state.report }
}


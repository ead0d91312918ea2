/**
 * The fp16 recipe: float32 weights and compute become float16, graph inputs and outputs stay float32 behind Cast
 * nodes (keep_io_types), and a block list of operators keeps computing in float32 with Casts around them.
 * If/Loop/Scan bodies of converted nodes are converted with the same rules; bodies of blocked nodes are left
 * untouched in float32, their outer-scope reads fed through Casts. Pure: the source model is not modified.
 *
 * Modelled on onnxconverter-common float16.py and onnxruntime's transformers/float16.py
 * (anchors-quantization.md §3), with ORT's bounds (65504 and 2^-24) instead of onnxconverter's 1e4 clamp, which
 * silently rewrites large constants such as attention-mask fill values (anchors-quantization.md §7.8).
 */
import { AppError, BugError } from '../../../src-shared/errors.ts'
import { constantsToInitializers, deduplicateInitializers } from './constantsToInitializers.ts'
import { foldBatchNormalization } from '../quantization/foldBatchNorm.ts'
import { freeVariables, inferElementTypes, nodeSubgraphs } from './elementTypes.ts'
import { renameDefinedValue, renameFreeReferences } from './graphRename.ts'
import {
  attr,
  attributeString,
  defaultOpsetVersion,
  findAttribute,
  isDefaultDomain,
  makeNode,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from './onnxModel.ts'
import { forEachGraph, forEachTensor } from './onnxWalk.ts'
import { FLOAT16_MAX, FLOAT16_MIN_POSITIVE, TensorDataType, float16Tensor, isExternalTensor, readTensorAsFloat32 } from './tensorData.ts'

const FLOAT = TensorDataType.FLOAT
const FLOAT16 = TensorDataType.FLOAT16

/**
 * Operators kept in float32 by default. Why each group:
 * - ai.onnx.ml operators (trees, SVMs, scalers, encoders, ZipMap): their schemas accept float/double only.
 * - NonMaxSuppression, RoiAlign, TopK: box coordinates and score ties are precision-sensitive, and ORT's CPU
 *   kernels for them are float32-only (onnxconverter-common's DEFAULT_OP_BLOCK_LIST).
 * - Range, CumSum: accumulate; fp16's 11-bit mantissa makes long ranges and running sums wrong (1+...+n > 2048).
 * - Min, Max, Upsample: blocked by onnxconverter-common because ORT CPU lacked fp16 kernels; kept for parity.
 * - Random*, Multinomial, Bernoulli, EyeLike: their output dtype comes from an attribute, and they rarely matter
 *   for inference.
 * - QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear: before opset 19 their scales must be float32; an
 *   already quantized model should not be converted further.
 * - Resize stays convertible (ORT's transformer converter does not block it) with its roi/scales inputs kept
 *   float32, except mode 'cubic', whose negative-lobed coefficients amplify fp16 rounding.
 * Non-default domains (com.microsoft, custom) are always kept in float32: their kernels' fp16 support is per
 * execution provider, and a custom kernel may not accept it at all.
 */
export const DEFAULT_FLOAT16_OP_BLOCK_LIST: readonly string[] = [
  'ArrayFeatureExtractor', 'Binarizer', 'CastMap', 'CategoryMapper', 'DictVectorizer', 'FeatureVectorizer', 'Imputer',
  'LabelEncoder', 'LinearClassifier', 'LinearRegressor', 'Normalizer', 'OneHotEncoder', 'SVMClassifier',
  'SVMRegressor', 'Scaler', 'TreeEnsemble', 'TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'ZipMap',
  'NonMaxSuppression', 'RoiAlign', 'TopK',
  'Range', 'CumSum',
  'Min', 'Max', 'Upsample',
  'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'EyeLike',
  'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear',
]

/** Inputs that stay float32 even when their node computes in float16 (ORT's ALWAYS_FLOAT_INPUTS). */
const ALWAYS_FLOAT_INPUTS: Readonly<Record<string, readonly number[]>> = { Resize: [1, 2] }

/** Operators that accept any element type on these inputs, so no Cast is ever needed in front of them. */
const TYPE_AGNOSTIC_INPUTS: Readonly<Record<string, readonly number[]>> = { Cast: [0], CastLike: [0], Shape: [0], Size: [0] }

export interface Float16Options {
  /** Operator types kept in float32; replaces DEFAULT_FLOAT16_OP_BLOCK_LIST when given. */
  opBlockList?: readonly string[]
  /** Node names kept in float32. */
  nodeBlockList?: readonly string[]
  /** Finite values beyond ±this become ±this (default 65504, the largest float16). */
  maxFiniteValue?: number
  /** Non-zero values closer to 0 than this become ±this, so epsilons never flush to 0 (default 2^-24). */
  minPositiveValue?: number
  /**
   * Keep the consumers of constants that exceed ±maxFiniteValue in float32 instead of clamping (default true).
   * Clamping is right for fill values such as -1e9 attention masks but wrong for statistics such as a
   * BatchNormalization variance of 1e8 (PaddleOCR's detector), which would silently change the output scale.
   */
  keepOutOfRangeInFloat32?: boolean
  /** Move Constant nodes into initializers and merge identical initializers first (default true). */
  compactConstants?: boolean
  /**
   * Fold BatchNormalization into the Conv before it, in float32, before converting (default true). onnxruntime
   * folds it anyway when it loads a float32 model; in float16 the division by sqrt(var + eps) is where most of the
   * rounding error comes from (PaddleOCR classifier: max error 0.93% → 0.53% of the output range, and smaller).
   */
  foldBatchNormalization?: boolean
}

export interface Float16Report {
  foldedBatchNormalizations: number
  /** Nodes kept in float32 because a constant they read does not fit float16. */
  keptFloat32ForRange: number
  movedConstantNodes: number
  deduplicatedInitializers: number
  convertedInitializers: number
  keptFloat32Initializers: number
  convertedConstantNodes: number
  blockedNodes: number
  blockedOpTypes: string[]
  insertedCasts: number
  retargetedCasts: number
  clampedToMax: number
  raisedToMinPositive: number
  convertedSubgraphs: number
  float32Subgraphs: number
}

interface GraphScope {
  isMain: boolean
  /** Element types of outer-scope values after conversion. */
  outerTypes: ReadonlyMap<string, number | undefined>
  /** Element types of outer-scope values in the source model. */
  outerOriginal: ReadonlyMap<string, number | undefined>
  /** Source element types of the graph's inputs when value_info does not declare them (Loop/Scan bodies). */
  inputTypes: ReadonlyArray<number | undefined>
}

class NameAllocator {
  private readonly used = new Set<string>()

  constructor(model: OnnxModel) {
    forEachGraph(model, ({ graph }) => {
      for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) if (v.name) this.used.add(v.name)
      for (const t of graph.initializer) if (t.name) this.used.add(t.name)
      for (const n of graph.node) {
        if (n.name) this.used.add(n.name)
        for (const name of [...n.input, ...n.output]) if (name) this.used.add(name)
      }
    })
  }

  fresh(base: string): string {
    let name = base
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`
    this.used.add(name)
    return name
  }
}

export function convertToFloat16(source: OnnxModel, options: Float16Options = {}): { model: OnnxModel; report: Float16Report } {
  if (source.graph === undefined) throw new AppError('model-invalid', 'The model has no graph to convert', {})
  const opset = defaultOpsetVersion(source)
  if (opset !== undefined && opset < 7) {
    throw new AppError('model-unsupported', `The fp16 recipe needs default-domain opset 7 or newer; this model uses opset ${opset}`, { opset })
  }
  forEachTensor(source, ({ tensor }) => {
    if (isExternalTensor(tensor)) throw new BugError('convertToFloat16 needs external data loaded first (loadExternalData)')
  })
  const model = structuredClone(source)
  const graph = model.graph
  if (graph === undefined) throw new BugError('structuredClone lost the graph')

  const blockList = new Set(options.opBlockList ?? DEFAULT_FLOAT16_OP_BLOCK_LIST)
  const nodeBlockList = new Set(options.nodeBlockList ?? [])
  const maxFinite = options.maxFiniteValue ?? FLOAT16_MAX
  const minPositive = options.minPositiveValue ?? FLOAT16_MIN_POSITIVE
  if (!(maxFinite > 0 && maxFinite <= FLOAT16_MAX) || !(minPositive >= FLOAT16_MIN_POSITIVE && minPositive < 1)) {
    throw new AppError('invalid-input', `fp16 bounds must satisfy 2^-24 <= minPositiveValue < 1 and 0 < maxFiniteValue <= 65504`, { maxFinite, minPositive })
  }
  const report: Float16Report = {
    foldedBatchNormalizations: 0,
    keptFloat32ForRange: 0,
    movedConstantNodes: 0,
    deduplicatedInitializers: 0,
    convertedInitializers: 0,
    keptFloat32Initializers: 0,
    convertedConstantNodes: 0,
    blockedNodes: 0,
    blockedOpTypes: [],
    insertedCasts: 0,
    retargetedCasts: 0,
    clampedToMax: 0,
    raisedToMinPositive: 0,
    convertedSubgraphs: 0,
    float32Subgraphs: 0,
  }
  const blockedOpTypes = new Set<string>()
  if (options.compactConstants ?? true) {
    report.movedConstantNodes = constantsToInitializers(model)
    report.deduplicatedInitializers = deduplicateInitializers(model)
  }
  if (options.foldBatchNormalization ?? true) report.foldedBatchNormalizations = foldBatchNormalization(model)
  const names = new NameAllocator(model)

  // Names of float32 constants with finite values beyond the float16 range (initializers and Constant outputs).
  const outOfRange = new Set<string>()
  if (options.keepOutOfRangeInFloat32 ?? true) {
    const exceeds = (tensor: OnnxTensor): boolean => tensor.dataType === FLOAT && readTensorAsFloat32(tensor).some((v) => Number.isFinite(v) && Math.abs(v) > maxFinite)
    forEachTensor(model, ({ tensor, origin, node }) => {
      if (origin === 'initializer' && tensor.name && exceeds(tensor)) outOfRange.add(tensor.name)
      if (origin === 'attribute' && node?.opType === 'Constant' && node.output[0] && exceeds(tensor)) outOfRange.add(node.output[0])
    })
  }

  const isBlocked = (node: OnnxNode): boolean => {
    if (node.name !== undefined && nodeBlockList.has(node.name)) return true
    if (!isDefaultDomain(node.domain)) return true
    const op = node.opType ?? ''
    if (blockList.has(op)) return true
    if (outOfRange.size > 0 && (node.input.some((name) => outOfRange.has(name)) || (op === 'Constant' && outOfRange.has(node.output[0] ?? '')))) {
      report.keptFloat32ForRange++
      return true
    }
    return op === 'Resize' && attributeString(node, 'mode') === 'cubic'
  }

  /** Float32 values → float16 tensor, clamped to the configured bounds. */
  const toFloat16Tensor = (tensor: OnnxTensor): OnnxTensor => {
    const values = readTensorAsFloat32(tensor)
    for (let i = 0; i < values.length; i++) {
      const v = values[i] ?? 0
      if (v === 0 || !Number.isFinite(v)) continue
      const magnitude = Math.abs(v)
      if (magnitude > maxFinite) {
        values[i] = Math.sign(v) * maxFinite
        report.clampedToMax++
      } else if (magnitude < minPositive) {
        values[i] = Math.sign(v) * minPositive
        report.raisedToMinPositive++
      }
    }
    const converted = float16Tensor(tensor.name ?? '', tensor.dims, values)
    if (tensor.docString !== undefined) converted.docString = tensor.docString
    if (tensor.metadataProps !== undefined && tensor.metadataProps.length > 0) converted.metadataProps = tensor.metadataProps
    return converted
  }

  const wantedInputType = (node: OnnxNode, index: number, blocked: boolean, have: number): number => {
    const op = node.opType ?? ''
    if (isDefaultDomain(node.domain) && TYPE_AGNOSTIC_INPUTS[op]?.includes(index)) return have
    if (blocked) return FLOAT
    if (ALWAYS_FLOAT_INPUTS[op]?.includes(index)) return FLOAT
    return FLOAT16
  }

  const convertNodeConstants = (node: OnnxNode): void => {
    const op = node.opType ?? ''
    if (op === 'Cast') {
      const to = findAttribute(node, 'to')
      if (to?.i === FLOAT) {
        to.i = FLOAT16
        report.retargetedCasts++
      }
    } else if (op === 'Constant') {
      for (const [i, a] of node.attribute.entries()) {
        if (a.name === 'value' && a.t !== undefined && a.t.dataType === FLOAT) {
          a.t = toFloat16Tensor(a.t)
          report.convertedConstantNodes++
        } else if (a.name === 'value_float' || a.name === 'value_floats') {
          const values = a.name === 'value_float' ? [a.f ?? 0] : (a.floats ?? [])
          const dims = a.name === 'value_float' ? [] : [values.length]
          node.attribute[i] = attr.tensor('value', toFloat16Tensor({ name: '', dims, dataType: FLOAT, floatData: values }))
          report.convertedConstantNodes++
        }
      }
    } else if (op === 'ConstantOfShape') {
      const value = findAttribute(node, 'value')
      if (value?.t === undefined) node.attribute.push(attr.tensor('value', toFloat16Tensor({ name: '', dims: [1], dataType: FLOAT, floatData: [0] })))
      else if (value.t.dataType === FLOAT) value.t = toFloat16Tensor(value.t)
    }
  }

  const convertGraph = (g: OnnxGraph, scope: GraphScope): void => {
    const original = inferElementTypes(g, scope.outerOriginal, scope.inputTypes)
    const isFloat32 = (name: string): boolean => original.get(name) === FLOAT
    const types = new Map<string, number | undefined>(scope.outerTypes)
    const blocked = new Map<OnnxNode, boolean>(g.node.map((n) => [n, isBlocked(n)]))
    // A Cast(to=FLOAT) is retargeted to FLOAT16 only when something reads its output in float16; one feeding only
    // float32 readers (blocked nodes, the main graph's outputs) stays as it is, so that integers above 2048 that
    // become floats there (shape arithmetic, Range bounds) are not rounded on the way.
    const readers = new Map<string, OnnxNode[]>()
    for (const node of g.node) for (const name of node.input) if (name) readers.set(name, [...(readers.get(name) ?? []), node])
    const mainOutputs = new Set(scope.isMain ? g.output.map((o) => o.name) : [])
    for (const node of g.node) {
      if (blocked.get(node) === true || node.opType !== 'Cast' || !isDefaultDomain(node.domain) || findAttribute(node, 'to')?.i !== FLOAT) continue
      const output = node.output[0] ?? ''
      const float16Reader = (readers.get(output) ?? []).some((reader) => reader.input.some((name, i) => name === output && wantedInputType(reader, i, blocked.get(reader) === true, FLOAT) === FLOAT16))
      const readBySubgraph = g.node.some((n) => blocked.get(n) !== true && nodeSubgraphs(n).some((sub) => freeVariables(sub).has(output)))
      if (!float16Reader && !readBySubgraph && (mainOutputs.has(output) || (readers.get(output) ?? []).length > 0)) blocked.set(node, true)
    }

    // Inputs: the main graph keeps float32 at its interface; bodies of converted nodes take float16.
    for (const input of g.input) {
      if (!input.name) continue
      const converted = !scope.isMain && isFloat32(input.name)
      types.set(input.name, converted ? FLOAT16 : original.get(input.name))
      if (converted && input.type?.tensorType !== undefined) input.type.tensorType.elemType = FLOAT16
    }

    // Initializers become float16 when a float16 consumer reads them (ORT's force_fp16_initializers=False).
    const graphInputNames = new Set(g.input.map((v) => v.name))
    const wantsFloat16 = new Set<string>()
    for (const node of g.node) {
      const nodeBlocked = blocked.get(node) === true
      node.input.forEach((name, i) => {
        if (name && wantedInputType(node, i, nodeBlocked, FLOAT) === FLOAT16) wantsFloat16.add(name)
      })
      if (!nodeBlocked) for (const sub of nodeSubgraphs(node)) for (const name of freeVariables(sub)) wantsFloat16.add(name)
    }
    g.initializer = g.initializer.map((tensor) => {
      const name = tensor.name ?? ''
      if (tensor.dataType !== FLOAT) {
        types.set(name, tensor.dataType)
        return tensor
      }
      // An initializer that is also a graph input is an overridable float32 input: keep it as it is.
      if (!wantsFloat16.has(name) || (scope.isMain && graphInputNames.has(name))) {
        report.keptFloat32Initializers++
        types.set(name, FLOAT)
        return tensor
      }
      report.convertedInitializers++
      types.set(name, FLOAT16)
      return toFloat16Tensor(tensor)
    })
    for (const sparse of g.sparseInitializer ?? []) if (sparse.values?.name) types.set(sparse.values.name, sparse.values.dataType)

    const casts = new Map<string, string>()
    const castTo = (value: string, to: number, into: OnnxNode[]): string => {
      const key = `${value}\u0000${to}`
      const existing = casts.get(key)
      if (existing !== undefined) return existing
      const output = names.fresh(`${value}_${to === FLOAT16 ? 'fp16' : 'fp32'}`)
      into.push(makeNode('Cast', [value], [output], { name: names.fresh(`Cast_${output}`), attribute: [attr.int('to', to)] }))
      casts.set(key, output)
      types.set(output, to)
      report.insertedCasts++
      return output
    }

    const rewritten: OnnxNode[] = []
    for (const node of g.node) {
      const nodeBlocked = blocked.get(node) === true
      const before: OnnxNode[] = []
      node.input = node.input.map((name, i) => {
        if (!name || !isFloat32(name)) return name
        const have = types.get(name) ?? FLOAT
        const want = wantedInputType(node, i, nodeBlocked, have)
        return want === have ? name : castTo(name, want, before)
      })
      const subgraphs = nodeSubgraphs(node)
      if (nodeBlocked) {
        report.blockedNodes++
        blockedOpTypes.add(node.opType ?? '')
        // Bodies of blocked nodes stay float32: feed their float16 outer reads through Casts.
        for (const sub of subgraphs) {
          report.float32Subgraphs++
          for (const name of freeVariables(sub)) {
            if (isFloat32(name) && types.get(name) === FLOAT16) renameFreeReferences(sub, name, castTo(name, FLOAT, before))
          }
        }
      } else {
        convertNodeConstants(node)
        const op = node.opType ?? ''
        for (const attribute of node.attribute) {
          const bodies = [...(attribute.g !== undefined ? [attribute.g] : []), ...(attribute.graphs ?? [])]
          for (const body of bodies) {
            const inputTypes =
              op === 'Loop'
                ? [TensorDataType.INT64, TensorDataType.BOOL, ...node.input.slice(2).map((n) => (n ? original.get(n) : undefined))]
                : op === 'Scan'
                  ? node.input.map((n) => (n ? original.get(n) : undefined))
                  : []
            convertGraph(body, { isMain: false, outerTypes: types, outerOriginal: original, inputTypes })
            report.convertedSubgraphs++
          }
        }
      }
      node.output.forEach((name, i) => {
        if (!name) return
        const keepFloat32 = nodeBlocked || (node.opType === 'LayerNormalization' && i > 0)
        types.set(name, isFloat32(name) && !keepFloat32 ? FLOAT16 : original.get(name))
      })
      rewritten.push(...before, node)
    }
    g.node = rewritten

    // Outputs: the main graph returns float32 through a final Cast; bodies of converted nodes return float16.
    const tail: OnnxNode[] = []
    const renamedOutputs = new Set<string>()
    for (const output of g.output) {
      const name = output.name
      if (!name || !isFloat32(name)) continue
      const have = types.get(name) ?? FLOAT
      if (scope.isMain) {
        if (have !== FLOAT16 || renamedOutputs.has(name)) continue
        const internal = names.fresh(`${name}_fp16`)
        renameDefinedValue(g, name, internal)
        types.set(internal, FLOAT16)
        tail.push(makeNode('Cast', [internal], [name], { name: names.fresh(`Cast_${name}`), attribute: [attr.int('to', FLOAT)] }))
        report.insertedCasts++
        types.set(name, FLOAT)
        renamedOutputs.add(name)
      } else {
        if (have !== FLOAT16) output.name = castTo(name, FLOAT16, tail)
        if (output.type?.tensorType !== undefined) output.type.tensorType.elemType = FLOAT16
      }
    }
    g.node.push(...tail)

    for (const info of g.valueInfo) {
      const elem = info.type?.tensorType
      if (info.name && elem?.elemType === FLOAT && types.get(info.name) === FLOAT16) elem.elemType = FLOAT16
    }
  }

  convertGraph(graph, { isMain: true, outerTypes: new Map(), outerOriginal: new Map(), inputTypes: [] })
  report.blockedOpTypes = [...blockedOpTypes].sort()
  return { model, report }
}


/** Describes a decoded ONNX or TFLite model: I/O, opsets, op histogram, parameters, custom ops. Pure. */
import type { CustomOp, ModelInspection, OpCount, ParameterBucket } from '../../../src-shared/domain/modelInspection.ts'
import type { TensorInfo } from '../../../src-shared/domain/model.ts'
import {
  SUPPORTED_DEFAULT_OPSET,
  SUPPORTED_IR_VERSION,
  isDefaultDomain,
  type OnnxModel,
  type OnnxType,
  type OnnxValueInfo,
} from './onnxModel.ts'
import { forEachTensor, walkModel } from './onnxWalk.ts'
import { dataTypeName, externalDataField, isExternalTensor, tensorElementCount, tensorPayloadByteLength } from './tensorData.ts'
import { TFLITE_CUSTOM_BUILTIN_CODE, tfliteTensorTypeBits, type TfliteModel, type TfliteTensor } from './tfliteModel.ts'

/** Operator domains every onnxruntime build implements; anything else needs a custom kernel. */
export const KNOWN_ONNX_DOMAINS: ReadonlySet<string> = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft'])

const MAX_DIMS = 16

function typeName(type: OnnxType | undefined): string {
  if (type === undefined) return 'unknown'
  if (type.tensorType !== undefined) return dataTypeName(type.tensorType.elemType)
  if (type.sparseTensorType !== undefined) return `sparse(${dataTypeName(type.sparseTensorType.elemType)})`
  if (type.sequenceType !== undefined) return `seq(${typeName(type.sequenceType.elemType)})`
  if (type.optionalType !== undefined) return `optional(${typeName(type.optionalType.elemType)})`
  if (type.mapType !== undefined) return `map(${dataTypeName(type.mapType.keyType)},${typeName(type.mapType.valueType)})`
  if (type.opaqueType !== undefined) return 'opaque'
  return 'unknown'
}

export function onnxTensorInfo(valueInfo: OnnxValueInfo): TensorInfo {
  const tensor = valueInfo.type?.tensorType ?? valueInfo.type?.sparseTensorType
  const dims = tensor?.shape?.dim ?? []
  return {
    name: (valueInfo.name ?? '').slice(0, 256),
    elementType: typeName(valueInfo.type).slice(0, 32),
    shape: dims.slice(0, MAX_DIMS).map((d) => (d.dimValue !== undefined ? d.dimValue : d.dimParam !== undefined && d.dimParam !== '' ? d.dimParam.slice(0, 64) : null)),
  }
}

class Buckets {
  private readonly byType = new Map<string, ParameterBucket>()

  add(dtype: string, count: number, bytes: number): void {
    const bucket = this.byType.get(dtype) ?? { dtype, count: 0, bytes: 0 }
    bucket.count += count
    bucket.bytes += bytes
    this.byType.set(dtype, bucket)
  }

  list(): ParameterBucket[] {
    return [...this.byType.values()].sort((a, b) => b.bytes - a.bytes || a.dtype.localeCompare(b.dtype))
  }
}

function histogramOf(counts: Map<string, OpCount>): OpCount[] {
  return [...counts.values()].sort((a, b) => a.path.localeCompare(b.path) || b.count - a.count || a.opType.localeCompare(b.opType))
}

export interface OnnxInspectionContext {
  sizeBytes: number
  /** Sizes of external data files as found on disk (location → bytes); absent ones fall back to declared lengths. */
  externalFileSizes?: ReadonlyMap<string, number>
}

export function inspectOnnxModel(model: OnnxModel, context: OnnxInspectionContext): ModelInspection {
  const warnings: string[] = []
  const opsets: Record<string, number> = {}
  for (const opset of model.opsetImport) opsets[opset.domain ?? ''] = opset.version ?? 0
  const irVersion = model.irVersion ?? 0
  if (irVersion > SUPPORTED_IR_VERSION) {
    warnings.push(`IR version ${irVersion} is newer than ${SUPPORTED_IR_VERSION}, the newest Outpost reads; fields added since may be missing here and dropped by recipes`)
  }
  const defaultOpset = model.opsetImport.find((o) => isDefaultDomain(o.domain))?.version
  if (defaultOpset === undefined) warnings.push('The model imports no default ONNX opset')
  else if (defaultOpset > SUPPORTED_DEFAULT_OPSET) {
    warnings.push(`Default-domain opset ${defaultOpset} is newer than ${SUPPORTED_DEFAULT_OPSET}, the newest Outpost supports; recipes may not know its operators`)
  }

  const functionKeys = new Set((model.functions ?? []).map((f) => `${f.domain ?? ''}\u0000${f.name ?? ''}`))
  const ops = new Map<string, OpCount>()
  const custom = new Map<string, CustomOp>()
  let nodeCount = 0
  let subgraphCount = 0
  walkModel(model, {
    graph: ({ path }) => {
      if (path !== 'main' && !path.startsWith('training[')) subgraphCount++
    },
    node: ({ node, path }) => {
      nodeCount++
      const domain = node.domain === 'ai.onnx' ? '' : (node.domain ?? '')
      const opType = node.opType ?? ''
      const key = `${path}\u0000${domain}\u0000${opType}`
      const entry = ops.get(key) ?? { opType, domain, path, count: 0 }
      entry.count++
      ops.set(key, entry)
      if (!KNOWN_ONNX_DOMAINS.has(domain)) {
        const customKey = `${domain}\u0000${opType}`
        const c = custom.get(customKey) ?? { domain, opType, count: 0, definedByModelFunction: functionKeys.has(customKey) }
        c.count++
        custom.set(customKey, c)
      }
    },
  })
  for (const c of custom.values()) {
    if (!c.definedByModelFunction) warnings.push(`Custom operator ${c.domain}.${c.opType} needs a kernel that stock onnxruntime does not have`)
  }

  const buckets = new Buckets()
  const external = new Map<string, { declaredBytes: number; tensorCount: number }>()
  forEachTensor(model, ({ tensor, origin, node }) => {
    if (isExternalTensor(tensor)) {
      const location = externalDataField(tensor, 'location') ?? ''
      const file = external.get(location) ?? { declaredBytes: 0, tensorCount: 0 }
      file.declaredBytes += tensorPayloadByteLength(tensor)
      file.tensorCount++
      external.set(location, file)
    }
    if (origin === 'attribute' && !(node?.opType === 'Constant' && isDefaultDomain(node.domain))) return
    buckets.add(dataTypeName(tensor.dataType), tensorElementCount(tensor), tensorPayloadByteLength(tensor))
  })
  // Constant nodes may also carry their value as value_float(s) / value_int(s) attributes.
  walkModel(model, {
    node: ({ node }) => {
      if (node.opType !== 'Constant' || !isDefaultDomain(node.domain)) return
      for (const a of node.attribute) {
        if (a.name === 'value_float') buckets.add('float32', 1, 4)
        if (a.name === 'value_floats') buckets.add('float32', a.floats?.length ?? 0, 4 * (a.floats?.length ?? 0))
        if (a.name === 'value_int') buckets.add('int64', 1, 8)
        if (a.name === 'value_ints') buckets.add('int64', a.ints?.length ?? 0, 8 * (a.ints?.length ?? 0))
      }
    },
  })
  const byDtype = buckets.list()

  const graph = model.graph
  const initializerNames = new Set((graph?.initializer ?? []).map((t) => t.name))
  const metadata = (model.metadataProps ?? []).map((p) => ({ key: (p.key ?? '').slice(0, 256), value: (p.value ?? '').slice(0, 4096) }))
  return {
    format: 'onnx',
    sizeBytes: context.sizeBytes,
    formatVersion: irVersion,
    irVersion,
    opsets,
    producerName: model.producerName ?? null,
    producerVersion: model.producerVersion ?? null,
    description: model.docString !== undefined && model.docString !== '' ? model.docString.slice(0, 4096) : null,
    metadata,
    // Before IR 4, initializers were also listed as graph inputs; they are weights, not inputs to feed.
    inputs: (graph?.input ?? []).filter((v) => !initializerNames.has(v.name)).map(onnxTensorInfo),
    outputs: (graph?.output ?? []).map(onnxTensorInfo),
    nodeCount,
    opHistogram: histogramOf(ops),
    customOps: [...custom.values()].sort((a, b) => b.count - a.count),
    parameterCount: byDtype.reduce((sum, b) => sum + b.count, 0),
    parameterBytes: byDtype.reduce((sum, b) => sum + b.bytes, 0),
    parametersByDtype: byDtype,
    externalDataFiles: [...external].map(([location, file]) => ({
      location,
      sizeBytes: context.externalFileSizes?.get(location) ?? file.declaredBytes,
      tensorCount: file.tensorCount,
    })),
    subgraphCount,
    warnings,
  }
}

function tfliteTensorInfo(tensor: TfliteTensor): TensorInfo {
  const shape = tensor.shapeSignature ?? tensor.shape
  return {
    name: tensor.name.slice(0, 256),
    elementType: tensor.typeName.slice(0, 32),
    shape: shape.slice(0, MAX_DIMS).map((d) => (d < 0 ? null : d)),
  }
}

export function inspectTfliteModel(model: TfliteModel, context: { sizeBytes: number }): ModelInspection {
  const warnings: string[] = []
  const ops = new Map<string, OpCount>()
  const custom = new Map<string, CustomOp>()
  let nodeCount = 0
  model.subgraphs.forEach((subgraph, index) => {
    const path = index === 0 ? 'main' : `subgraph[${index}]${subgraph.name !== undefined ? `:${subgraph.name}` : ''}`
    for (const op of subgraph.operators) {
      nodeCount++
      const code = model.operatorCodes[op.opcodeIndex]
      const isCustom = code?.builtinCode === TFLITE_CUSTOM_BUILTIN_CODE
      const opType = isCustom ? (code?.customCode ?? 'CUSTOM') : (code?.builtinName ?? 'UNKNOWN')
      const domain = isCustom ? 'tflite.custom' : 'tflite'
      const key = `${path}\u0000${domain}\u0000${opType}`
      const entry = ops.get(key) ?? { opType, domain, path, count: 0 }
      entry.count++
      ops.set(key, entry)
      if (isCustom) {
        const c = custom.get(opType) ?? { domain, opType, count: 0, definedByModelFunction: false }
        c.count++
        custom.set(opType, c)
      }
    }
  })
  for (const c of custom.values()) warnings.push(`Custom operator ${c.opType} must be registered with the TFLite runtime that runs this model`)

  // A buffer shared by several tensors holds its parameters once.
  const buckets = new Buckets()
  const counted = new Set<number>()
  for (const subgraph of model.subgraphs) {
    for (const tensor of subgraph.tensors) {
      const size = model.buffers[tensor.buffer]?.sizeBytes ?? 0
      if (tensor.buffer === 0 || size === 0 || counted.has(tensor.buffer)) continue
      counted.add(tensor.buffer)
      const bits = tfliteTensorTypeBits(tensor.type)
      const count = bits > 0 ? Math.floor((size * 8) / bits) : tensor.shape.reduce((p, d) => p * Math.max(d, 0), 1)
      buckets.add(tensor.typeName, count, size)
    }
  }
  const byDtype = buckets.list()
  const main = model.subgraphs[0]
  const tensorAt = (index: number): TfliteTensor | undefined => main?.tensors[index]
  const metadataNames = model.metadata.map((m) => ({ key: m.name.slice(0, 256), value: `buffer ${m.buffer} (${model.buffers[m.buffer]?.sizeBytes ?? 0} bytes)` }))
  return {
    format: 'tflite',
    sizeBytes: context.sizeBytes,
    formatVersion: model.version,
    irVersion: null,
    opsets: {},
    producerName: null,
    producerVersion: null,
    description: model.description !== undefined && model.description !== '' ? model.description.slice(0, 4096) : null,
    metadata: metadataNames,
    inputs: (main?.inputs ?? []).flatMap((i) => {
      const t = tensorAt(i)
      return t === undefined ? [] : [tfliteTensorInfo(t)]
    }),
    outputs: (main?.outputs ?? []).flatMap((i) => {
      const t = tensorAt(i)
      return t === undefined ? [] : [tfliteTensorInfo(t)]
    }),
    nodeCount,
    opHistogram: histogramOf(ops),
    customOps: [...custom.values()].sort((a, b) => b.count - a.count),
    parameterCount: byDtype.reduce((sum, b) => sum + b.count, 0),
    parameterBytes: byDtype.reduce((sum, b) => sum + b.bytes, 0),
    parametersByDtype: byDtype,
    externalDataFiles: [],
    subgraphCount: Math.max(0, model.subgraphs.length - 1),
    warnings,
  }
}

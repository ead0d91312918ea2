/**
 * Plain-object view of an ONNX model (onnx.proto, IR version 10), as produced by decodeOnnx and consumed by
 * encodeOnnx (src-main/adapters/modelformats/onnxCodec.ts). Field names are the proto names in camelCase.
 * int64 fields are JavaScript numbers: exact up to 2^53; INT64_MAX/MIN (used as "to the end" in Slice) decode to
 * ±2^63 and encode back to INT64_MAX/MIN exactly, because the encoder clamps (long.js fromNumber).
 * bytes fields are Uint8Array views into the decoded buffer: copy before mutating.
 * Repeated fields are always arrays after decoding; the rarely used ones are optional so that builders stay short.
 */

export interface OnnxStringStringEntry {
  key?: string
  value?: string
}

export interface OnnxOperatorSetId {
  domain?: string
  version?: number
}

export interface OnnxTensorSegment {
  begin?: number
  end?: number
}

export interface OnnxTensor {
  dims: number[]
  /** A TensorDataType code (onnx TensorProto.DataType). */
  dataType?: number
  segment?: OnnxTensorSegment
  floatData?: number[]
  int32Data?: number[]
  stringData?: Uint8Array[]
  int64Data?: number[]
  name?: string
  docString?: string
  rawData?: Uint8Array
  externalData?: OnnxStringStringEntry[]
  /** 0 = DEFAULT (data in this message), 1 = EXTERNAL (data in a file named by externalData 'location'). */
  dataLocation?: number
  doubleData?: number[]
  uint64Data?: number[]
  metadataProps?: OnnxStringStringEntry[]
}

export interface OnnxSparseTensor {
  values?: OnnxTensor
  indices?: OnnxTensor
  dims?: number[]
}

export interface OnnxDimension {
  dimValue?: number
  dimParam?: string
  denotation?: string
}

export interface OnnxTensorShape {
  dim: OnnxDimension[]
}

export interface OnnxTypeTensor {
  elemType?: number
  shape?: OnnxTensorShape
}

export interface OnnxType {
  tensorType?: OnnxTypeTensor
  sequenceType?: { elemType?: OnnxType }
  mapType?: { keyType?: number; valueType?: OnnxType }
  optionalType?: { elemType?: OnnxType }
  sparseTensorType?: OnnxTypeTensor
  opaqueType?: { domain?: string; name?: string }
  denotation?: string
}

export interface OnnxValueInfo {
  name?: string
  type?: OnnxType
  docString?: string
  metadataProps?: OnnxStringStringEntry[]
}

export interface OnnxAttribute {
  name?: string
  refAttrName?: string
  docString?: string
  /** An AttributeType code. */
  type?: number
  f?: number
  i?: number
  s?: Uint8Array
  t?: OnnxTensor
  g?: OnnxGraph
  sparseTensor?: OnnxSparseTensor
  tp?: OnnxType
  floats?: number[]
  ints?: number[]
  strings?: Uint8Array[]
  tensors?: OnnxTensor[]
  graphs?: OnnxGraph[]
  sparseTensors?: OnnxSparseTensor[]
  typeProtos?: OnnxType[]
}

export interface OnnxIntIntListEntry {
  key?: number
  value?: number[]
}

export interface OnnxSimpleShardedDim {
  dimValue?: number
  dimParam?: string
  numShards?: number
}

export interface OnnxShardedDim {
  axis?: number
  simpleSharding?: OnnxSimpleShardedDim[]
}

export interface OnnxShardingSpec {
  tensorName?: string
  device?: number[]
  indexToDeviceGroupMap?: OnnxIntIntListEntry[]
  shardedDim?: OnnxShardedDim[]
}

export interface OnnxNodeDeviceConfiguration {
  configurationId?: string
  shardingSpec?: OnnxShardingSpec[]
  pipelineStage?: number
}

export interface OnnxNode {
  input: string[]
  output: string[]
  name?: string
  opType?: string
  domain?: string
  overload?: string
  attribute: OnnxAttribute[]
  docString?: string
  metadataProps?: OnnxStringStringEntry[]
  deviceConfigurations?: OnnxNodeDeviceConfiguration[]
}

export interface OnnxTensorAnnotation {
  tensorName?: string
  quantParameterTensorNames?: OnnxStringStringEntry[]
}

export interface OnnxGraph {
  node: OnnxNode[]
  name?: string
  initializer: OnnxTensor[]
  sparseInitializer?: OnnxSparseTensor[]
  docString?: string
  input: OnnxValueInfo[]
  output: OnnxValueInfo[]
  valueInfo: OnnxValueInfo[]
  quantizationAnnotation?: OnnxTensorAnnotation[]
  metadataProps?: OnnxStringStringEntry[]
}

export interface OnnxTrainingInfo {
  initialization?: OnnxGraph
  algorithm?: OnnxGraph
  initializationBinding?: OnnxStringStringEntry[]
  updateBinding?: OnnxStringStringEntry[]
}

export interface OnnxFunction {
  name?: string
  input: string[]
  output: string[]
  attribute?: string[]
  attributeProto?: OnnxAttribute[]
  node: OnnxNode[]
  docString?: string
  opsetImport: OnnxOperatorSetId[]
  domain?: string
  overload?: string
  valueInfo?: OnnxValueInfo[]
  metadataProps?: OnnxStringStringEntry[]
}

export interface OnnxDeviceConfiguration {
  name?: string
  numDevices?: number
  device?: string[]
}

export interface OnnxModel {
  irVersion?: number
  opsetImport: OnnxOperatorSetId[]
  producerName?: string
  producerVersion?: string
  domain?: string
  modelVersion?: number
  docString?: string
  graph?: OnnxGraph
  metadataProps?: OnnxStringStringEntry[]
  trainingInfo?: OnnxTrainingInfo[]
  functions?: OnnxFunction[]
  configuration?: OnnxDeviceConfiguration[]
}

/** AttributeProto.AttributeType codes. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const

/** TensorProto.DataLocation codes. */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const

/** The highest IR version and default-domain opset this code was written against (ONNX 1.16: IR 10, opset 21). */
export const SUPPORTED_IR_VERSION = 10
export const SUPPORTED_DEFAULT_OPSET = 21

/** The default ONNX operator domain is spelled '' or 'ai.onnx'. */
export function isDefaultDomain(domain: string | undefined): boolean {
  return domain === undefined || domain === '' || domain === 'ai.onnx'
}

/** The version of the default ('' / ai.onnx) opset the model imports, or undefined when it imports none. */
export function defaultOpsetVersion(model: OnnxModel): number | undefined {
  return model.opsetImport.find((o) => isDefaultDomain(o.domain))?.version
}

// ---- builders: short constructors so that transforms and tests do not spell out every empty list ----

export function makeNode(
  opType: string,
  input: string[],
  output: string[],
  options: { name?: string; domain?: string; attribute?: OnnxAttribute[] } = {},
): OnnxNode {
  const node: OnnxNode = { input, output, opType, attribute: options.attribute ?? [] }
  if (options.name !== undefined) node.name = options.name
  if (options.domain !== undefined && options.domain !== '') node.domain = options.domain
  return node
}

export function makeGraph(parts: Partial<OnnxGraph> & { name?: string }): OnnxGraph {
  return {
    ...parts,
    node: parts.node ?? [],
    initializer: parts.initializer ?? [],
    input: parts.input ?? [],
    output: parts.output ?? [],
    valueInfo: parts.valueInfo ?? [],
  }
}

export function makeTensorValueInfo(name: string, elemType: number, shape?: ReadonlyArray<number | string | null>): OnnxValueInfo {
  const tensorType: OnnxTypeTensor = { elemType }
  if (shape !== undefined) {
    tensorType.shape = {
      dim: shape.map((d): OnnxDimension => (typeof d === 'number' ? { dimValue: d } : d === null ? {} : { dimParam: d })),
    }
  }
  return { name, type: { tensorType } }
}

export const attr = {
  int(name: string, value: number): OnnxAttribute {
    return { name, type: AttributeType.INT, i: value }
  },
  float(name: string, value: number): OnnxAttribute {
    return { name, type: AttributeType.FLOAT, f: value }
  },
  ints(name: string, values: number[]): OnnxAttribute {
    return { name, type: AttributeType.INTS, ints: values }
  },
  floats(name: string, values: number[]): OnnxAttribute {
    return { name, type: AttributeType.FLOATS, floats: values }
  },
  string(name: string, value: string): OnnxAttribute {
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) }
  },
  tensor(name: string, value: OnnxTensor): OnnxAttribute {
    return { name, type: AttributeType.TENSOR, t: value }
  },
  graph(name: string, value: OnnxGraph): OnnxAttribute {
    return { name, type: AttributeType.GRAPH, g: value }
  },
}

export function findAttribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute.find((a) => a.name === name)
}

export function attributeInt(node: OnnxNode, name: string): number | undefined {
  return findAttribute(node, name)?.i
}

export function attributeString(node: OnnxNode, name: string): string | undefined {
  const s = findAttribute(node, name)?.s
  return s === undefined ? undefined : new TextDecoder().decode(s)
}

/**
 * Plain-object view of a TFLite model (flatbuffer schema v3), as produced by decodeTflite
 * (src-main/adapters/modelformats/tfliteCodec.ts), plus the name tables of schema.fbs. Pure.
 */

export interface TfliteQuantization {
  min: number[]
  max: number[]
  scale: number[]
  zeroPoint: number[]
  quantizedDimension: number
}

export interface TfliteTensor {
  name: string
  shape: number[]
  /** shape with -1 for dynamic dimensions, when the converter recorded it. */
  shapeSignature?: number[]
  /** A TensorType code; see tfliteTensorTypeName. */
  type: number
  typeName: string
  /** Index into TfliteModel.buffers; 0 is the always-empty buffer. */
  buffer: number
  quantization?: TfliteQuantization
  isVariable: boolean
  isSparse: boolean
}

export interface TfliteOperator {
  opcodeIndex: number
  inputs: number[]
  outputs: number[]
  builtinOptionsType: number
  customOptionsSizeBytes: number
}

export interface TfliteSubgraph {
  name?: string
  tensors: TfliteTensor[]
  inputs: number[]
  outputs: number[]
  operators: TfliteOperator[]
}

export interface TfliteOperatorCode {
  /** The effective builtin code: max(deprecated_builtin_code, builtin_code), as TFLite's GetBuiltinCode does. */
  builtinCode: number
  builtinName: string
  deprecatedBuiltinCode: number
  customCode?: string
  version: number
}

export interface TfliteBuffer {
  /** Absolute offset of the data in the file (inside the flatbuffer, or after it for >2 GiB models). */
  dataOffset: number
  sizeBytes: number
}

export interface TfliteModel {
  version: number
  description?: string
  operatorCodes: TfliteOperatorCode[]
  subgraphs: TfliteSubgraph[]
  buffers: TfliteBuffer[]
  metadata: Array<{ name: string; buffer: number }>
  signatureDefs: Array<{
    signatureKey?: string
    subgraphIndex: number
    inputs: Array<{ name: string; tensorIndex: number }>
    outputs: Array<{ name: string; tensorIndex: number }>
  }>
}

/** BuiltinOperator names by code (schema.fbs); codes past the table print as BUILTIN_<code>. */
const builtinOperatorNames = [
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE', 'DEQUANTIZE',
  'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D',
  'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU', 'RELU_N1_TO_1',
  'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH', 'CONCAT_EMBEDDINGS',
  'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD', 'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER',
  'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB', 'DIV', 'SQUEEZE',
  'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP', 'TOPK_V2', 'SPLIT',
  'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM', 'ARG_MAX', 'MINIMUM', 'LESS',
  'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE', 'SIN', 'TRANSPOSE_CONV',
  'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM', 'SQRT', 'RSQRT', 'SHAPE', 'POW',
  'ARG_MIN', 'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR', 'ONE_HOT', 'LOGICAL_AND', 'LOGICAL_NOT',
  'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE', 'ZEROS_LIKE', 'FILL', 'FLOOR_MOD', 'RANGE',
  'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE', 'MIRROR_PAD', 'ABS', 'SPLIT_V', 'UNIQUE', 'CEIL',
  'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK', 'ELU', 'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE',
  'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF', 'WHILE', 'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5',
  'SCATTER_ND', 'SELECT_V2', 'DENSIFY', 'SEGMENT_SUM', 'BATCH_MATMUL', 'PLACEHOLDER_FOR_GREATER_OP_CODES', 'CUMSUM',
  'CALL_ONCE', 'BROADCAST_TO', 'RFFT2D', 'CONV_3D', 'IMAG', 'REAL', 'COMPLEX_ABS', 'HASHTABLE', 'HASHTABLE_FIND',
  'HASHTABLE_IMPORT', 'HASHTABLE_SIZE', 'REDUCE_ALL', 'CONV_3D_TRANSPOSE', 'VAR_HANDLE', 'READ_VARIABLE',
  'ASSIGN_VARIABLE', 'BROADCAST_ARGS', 'RANDOM_STANDARD_NORMAL', 'BUCKETIZE', 'RANDOM_UNIFORM', 'MULTINOMIAL', 'GELU',
  'DYNAMIC_UPDATE_SLICE', 'RELU_0_TO_1', 'UNSORTED_SEGMENT_PROD', 'UNSORTED_SEGMENT_MAX', 'UNSORTED_SEGMENT_SUM',
  'ATAN2', 'UNSORTED_SEGMENT_MIN', 'SIGN', 'BITCAST', 'BITWISE_XOR', 'RIGHT_SHIFT',
] as const

export const TFLITE_CUSTOM_BUILTIN_CODE = 32

export function tfliteBuiltinName(code: number): string {
  return builtinOperatorNames[code] ?? `BUILTIN_${code}`
}

/** TensorType names and bits per element (0 for string, resource and variant). */
const tensorTypes: ReadonlyArray<readonly [string, number]> = [
  ['float32', 32], ['float16', 16], ['int32', 32], ['uint8', 8], ['int64', 64], ['string', 0], ['bool', 8],
  ['int16', 16], ['complex64', 64], ['int8', 8], ['float64', 64], ['complex128', 128], ['uint64', 64],
  ['resource', 0], ['variant', 0], ['uint32', 32], ['uint16', 16], ['int4', 4], ['bfloat16', 16],
]

export function tfliteTensorTypeName(code: number): string {
  return tensorTypes[code]?.[0] ?? `type-${code}`
}

export function tfliteTensorTypeBits(code: number): number {
  return tensorTypes[code]?.[1] ?? 0
}

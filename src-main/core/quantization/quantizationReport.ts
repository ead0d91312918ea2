/** What a quantization recipe did, for the model card and the UI. Plain data. */
import type { OnnxModel } from '../packaging/onnxModel.ts'

export interface QuantizedNodeRecord {
  /** The original node's name (or its first output when unnamed). */
  node: string
  opType: string
  /** 'main', or the subgraph path such as 'main/If_0.then_branch'. */
  graphPath: string
  /** The operator now doing the work: 'MatMulInteger', 'ConvInteger', 'DynamicQuantizeLSTM' or 'QDQ'. */
  emitted: string
  perChannel: boolean
}

export interface SkippedNodeRecord {
  node: string
  opType: string
  graphPath: string
  /** A sentence: why this node stayed in float. */
  reason: string
}

export interface QuantizationReport {
  recipe: 'int8-dynamic' | 'int8-static'
  quantizedNodes: QuantizedNodeRecord[]
  skippedNodes: SkippedNodeRecord[]
  /** Distinct weight tensors stored as int8 (a weight shared by several nodes counts once). */
  quantizedWeightCount: number
  /** Float weights removed because nothing reads them any more. */
  removedFloatWeights: string[]
  /** Set when the default opset had to be raised for the quantization operators. */
  opsetUpgrade: { fromOpset: number; toOpset: number } | undefined
  /** int32 bias values that had to be clipped (static recipe; 0 when none). */
  biasClippedCount: number
  /** Relu nodes made redundant by the QuantizeLinear after them (static recipe). */
  removedActivations: string[]
}

export interface QuantizationResult {
  model: OnnxModel
  report: QuantizationReport
}

export function nodeDisplayName(node: { name?: string; output: string[]; opType?: string }): string {
  return node.name !== undefined && node.name !== '' ? node.name : (node.output[0] ?? node.opType ?? 'node')
}

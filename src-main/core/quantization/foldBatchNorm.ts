/**
 * Folds BatchNormalization into the Conv that feeds it (the pre-processing onnxruntime's quant_pre_process does
 * through its graph optimizer): W' = W * s, B' = (B - mean) * s + beta with s = gamma / sqrt(var + epsilon) per output
 * channel. The quantized model then stores no float BN parameters and onnxruntime sees QLinearConv chains without
 * float ops between them. Only exact, unambiguous cases are folded; everything else is left alone. Pure.
 */
import type { OnnxModel, OnnxNode } from '../packaging/onnxModel.ts'
import { findAttribute, isDefaultDomain } from '../packaging/onnxModel.ts'
import { float32Tensor, readTensorAsFloat32 } from '../packaging/tensorData.ts'
import { type NameAllocator, type Scope, countUses, createNameAllocator, findConstant, isFloat32Constant, nodeSubgraphs, removeUnusedConstants } from './graphTools.ts'

function foldInGraph(scope: Scope, names: NameAllocator, uses: Map<string, number>, replaced: Set<string>): number {
  const { graph } = scope
  let folded = 0
  const graphOutputs = new Set(graph.output.map((output) => output.name ?? ''))
  for (const node of graph.node) for (const subgraph of nodeSubgraphs(node)) folded += foldInGraph({ graph: subgraph, parent: scope, path: `${scope.path}/sub` }, names, uses, replaced)
  const removed = new Set<OnnxNode>()
  for (const conv of graph.node) {
    if (conv.opType !== 'Conv' || !isDefaultDomain(conv.domain)) continue
    const convOutput = conv.output[0]
    if (!convOutput || (uses.get(convOutput) ?? 0) !== 1 || graphOutputs.has(convOutput)) continue
    const batchNorm = graph.node.find((candidate) => candidate.opType === 'BatchNormalization' && isDefaultDomain(candidate.domain) && candidate.input[0] === convOutput)
    if (batchNorm === undefined || batchNorm.output.length !== 1 || !batchNorm.output[0]) continue
    // training_mode=1 (opset 14+) normalizes with batch statistics: not foldable.
    if ((findAttribute(batchNorm, 'training_mode')?.i ?? 0) !== 0) continue
    const weight = findConstant(scope, conv.input[1] ?? '')
    const bias = conv.input[2] ? findConstant(scope, conv.input[2]) : undefined
    const [gamma, beta, mean, variance] = batchNorm.input.slice(1, 5).map((name) => findConstant(scope, name))
    if (!isFloat32Constant(weight) || !isFloat32Constant(gamma) || !isFloat32Constant(beta) || !isFloat32Constant(mean) || !isFloat32Constant(variance)) continue
    if (conv.input[2] && !isFloat32Constant(bias)) continue
    const channels = weight.tensor.dims[0] ?? 0
    const perChannel = [gamma, beta, mean, variance].map((source) => readTensorAsFloat32(source.tensor))
    if (perChannel.some((values) => values.length !== channels)) continue
    const [gammaValues, betaValues, meanValues, varianceValues] = perChannel as [Float32Array, Float32Array, Float32Array, Float32Array]
    const epsilon = findAttribute(batchNorm, 'epsilon')?.f ?? 1e-5
    const weights = Float32Array.from(readTensorAsFloat32(weight.tensor))
    const biasValues = bias === undefined ? new Float32Array(channels) : readTensorAsFloat32(bias.tensor)
    const perOutput = weights.length / channels
    const newBias = new Float32Array(channels)
    for (let channel = 0; channel < channels; channel++) {
      const factor = (gammaValues[channel] ?? 1) / Math.sqrt((varianceValues[channel] ?? 1) + epsilon)
      for (let index = channel * perOutput; index < (channel + 1) * perOutput; index++) weights[index] = (weights[index] ?? 0) * factor
      newBias[channel] = ((biasValues[channel] ?? 0) - (meanValues[channel] ?? 0)) * factor + (betaValues[channel] ?? 0)
    }
    const weightName = names.unique(`${weight.tensor.name ?? 'conv'}_bn`)
    const biasName = names.unique(`${conv.name || convOutput}_bn_bias`)
    graph.initializer.push(float32Tensor(weightName, weight.tensor.dims, weights), float32Tensor(biasName, [channels], newBias))
    for (const name of [conv.input[1], conv.input[2], ...batchNorm.input.slice(1)]) if (name) replaced.add(name)
    conv.input = [conv.input[0] ?? '', weightName, biasName]
    // The Conv now produces what the BatchNormalization produced, under the same name.
    conv.output = [batchNorm.output[0]]
    removed.add(batchNorm)
    folded++
  }
  if (removed.size > 0) graph.node = graph.node.filter((node) => !removed.has(node))
  return folded
}

/**
 * Folds every Conv → BatchNormalization pair in place (pass a structural clone) and drops the float constants only
 * they used. Returns the number of pairs folded.
 */
export function foldBatchNormalization(model: OnnxModel): number {
  if (model.graph === undefined) return 0
  const replaced = new Set<string>()
  const folded = foldInGraph({ graph: model.graph, parent: undefined, path: 'main' }, createNameAllocator(model), countUses(model), replaced)
  if (folded > 0) removeUnusedConstants(model, replaced)
  return folded
}

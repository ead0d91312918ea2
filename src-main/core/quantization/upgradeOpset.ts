/**
 * Raises a model's default-domain opset to 10 or 11, which QuantizeLinear/DequantizeLinear (10) and
 * DynamicQuantizeLinear (11) need, rewriting the operators whose signature changed on the way
 * (onnx/docs/Changelog.md: Slice-10, TopK-10, Clip-11, Pad-11). Operators whose meaning changed in ways we do not
 * rewrite (Upsample, Resize-10, Scatter) make it refuse with AppError('model-unsupported'), never guess.
 * onnxruntime's own quantizer only bumps the version number; we convert. Pure.
 */
import { AppError, assert } from '../../../src-shared/errors.ts'
import { type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, defaultOpsetVersion, isDefaultDomain } from '../packaging/onnxModel.ts'
import { float32Tensor, int64Tensor } from '../packaging/tensorData.ts'
import { type NameAllocator, createNameAllocator, minimumIrVersionForOpset, nodeSubgraphs } from './graphTools.ts'

/** The highest target this upgrader handles; later versions change Squeeze/Unsqueeze/Split/Softmax (13). */
export const MAX_UPGRADE_TARGET = 12

const refusedOps: Record<string, string> = {
  Upsample: 'Upsample was deprecated in opset 10 in favour of Resize, whose coordinate modes differ',
  Resize: 'Resize-10 and Resize-11 interpret their inputs differently',
  Scatter: 'Scatter was replaced by ScatterElements in opset 11',
}

interface UpgradeContext {
  from: number
  to: number
  names: NameAllocator
  /** New constants to add to the graph being rewritten. */
  constants: Array<ReturnType<typeof float32Tensor>>
}

function takeAttribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  const attribute = node.attribute.find((candidate) => candidate.name === name)
  if (attribute !== undefined) node.attribute = node.attribute.filter((candidate) => candidate !== attribute)
  return attribute
}

function addConstant(context: UpgradeContext, base: string, tensor: (name: string) => ReturnType<typeof float32Tensor>): string {
  const name = context.names.unique(base)
  context.constants.push(tensor(name))
  return name
}

/** Crosses version `version` (from version-1): rewrites the node in place when its operator changed there. */
function upgradeNode(node: OnnxNode, version: number, context: UpgradeContext): void {
  const label = node.name || node.output[0] || node.opType || 'node'
  const op = node.opType ?? ''
  if (version === 10 && op === 'Slice') {
    // Slice-1 took starts/ends/axes as attributes; Slice-10 takes them as int64 inputs.
    const starts = takeAttribute(node, 'starts')?.ints ?? []
    const ends = takeAttribute(node, 'ends')?.ints ?? []
    const axes = takeAttribute(node, 'axes')?.ints
    const inputs = [
      node.input[0] ?? '',
      addConstant(context, `${label}_starts`, (name) => int64Tensor(name, [starts.length], starts)),
      addConstant(context, `${label}_ends`, (name) => int64Tensor(name, [ends.length], ends)),
    ]
    if (axes !== undefined) inputs.push(addConstant(context, `${label}_axes`, (name) => int64Tensor(name, [axes.length], axes)))
    node.input = inputs
  } else if (version === 10 && op === 'TopK') {
    const k = takeAttribute(node, 'k')?.i
    if (k === undefined) throw new AppError('model-invalid', `TopK node ${label} has no 'k' attribute.`, { node: label })
    node.input = [node.input[0] ?? '', addConstant(context, `${label}_k`, (name) => int64Tensor(name, [1], [k]))]
  } else if (version === 11 && op === 'Clip') {
    // Clip-6 took min/max attributes (defaulting to the float range); Clip-11 takes optional scalar inputs.
    const min = takeAttribute(node, 'min')?.f
    const max = takeAttribute(node, 'max')?.f
    const inputs = [node.input[0] ?? '']
    inputs.push(min === undefined ? '' : addConstant(context, `${label}_min`, (name) => float32Tensor(name, [], [min])))
    if (max !== undefined) inputs.push(addConstant(context, `${label}_max`, (name) => float32Tensor(name, [], [max])))
    node.input = inputs
  } else if (version === 11 && op === 'Pad') {
    // Pad-2 took pads/value attributes; Pad-11 takes int64 pads and an optional scalar constant_value input.
    const pads = takeAttribute(node, 'pads')?.ints ?? []
    const value = takeAttribute(node, 'value')?.f
    const inputs = [node.input[0] ?? '', addConstant(context, `${label}_pads`, (name) => int64Tensor(name, [pads.length], pads))]
    if (value !== undefined && value !== 0) inputs.push(addConstant(context, `${label}_value`, (name) => float32Tensor(name, [], [value])))
    node.input = inputs
  } else if (version === 12 && op === 'Dropout') {
    // Dropout-12 reads the ratio from an input; at inference Dropout is an identity, so the attribute can go.
    takeAttribute(node, 'ratio')
  }
}

function upgradeGraph(graph: OnnxGraph, context: UpgradeContext): void {
  const previousConstants = context.constants
  context.constants = []
  for (const node of graph.node) {
    if (isDefaultDomain(node.domain)) {
      const refusal = refusedOps[node.opType ?? '']
      if (refusal !== undefined && !(node.opType === 'Resize' && context.from >= 11)) {
        throw new AppError(
          'model-unsupported',
          `The model uses opset ${context.from} and its ${node.opType} node ${node.name || node.output[0] || ''} cannot be converted to opset ${context.to} (${refusal}); export the model at opset ${context.to} or later.`,
          { opType: node.opType, fromOpset: context.from, toOpset: context.to },
        )
      }
      for (let version = context.from + 1; version <= context.to; version++) upgradeNode(node, version, context)
    }
    for (const subgraph of nodeSubgraphs(node)) upgradeGraph(subgraph, context)
  }
  graph.initializer.push(...context.constants)
  context.constants = previousConstants
}

/**
 * Upgrades the default-domain opset to `target` in place (the caller passes a structural clone) and raises the IR
 * version to what that opset needs. Does nothing when the model already imports `target` or later.
 */
export function upgradeOpset(model: OnnxModel, target: number): { fromOpset: number; toOpset: number } {
  assert(target <= MAX_UPGRADE_TARGET, `upgradeOpset handles targets up to ${MAX_UPGRADE_TARGET}, got ${target}`)
  const from = defaultOpsetVersion(model) ?? 1
  if (from >= target) return { fromOpset: from, toOpset: from }
  if (model.graph === undefined) throw new AppError('model-invalid', 'The model has no graph.')
  upgradeGraph(model.graph, { from, to: target, names: createNameAllocator(model), constants: [] })
  const opset = model.opsetImport.find((candidate) => isDefaultDomain(candidate.domain))
  if (opset === undefined) model.opsetImport.push({ domain: '', version: target })
  else opset.version = target
  model.irVersion = Math.max(model.irVersion ?? 3, minimumIrVersionForOpset(target))
  return { fromOpset: from, toOpset: target }
}


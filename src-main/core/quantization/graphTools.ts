/**
 * Graph plumbing shared by the quantization recipes: structural cloning that shares tensor payloads, lexical scopes
 * for subgraphs (If/Loop/Scan bodies see their parents' names), model-wide unique names, use counts and clean-up of
 * initializers a rewrite left unused. Pure.
 */
import { AttributeType, type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from '../packaging/onnxModel.ts'
import { TensorDataType } from '../packaging/tensorData.ts'

/**
 * Copies the graph structure (graphs, node lists, nodes, attribute lists, value infos) but shares tensor objects and
 * their bytes: rewrites replace tensors, never mutate them, so a 100 MB model is not duplicated.
 */
export function cloneModelStructure(model: OnnxModel): OnnxModel {
  const copy: OnnxModel = { ...model, opsetImport: model.opsetImport.map((opset) => ({ ...opset })) }
  if (model.graph !== undefined) copy.graph = cloneGraphStructure(model.graph)
  if (model.metadataProps !== undefined) copy.metadataProps = model.metadataProps.map((entry) => ({ ...entry }))
  return copy
}

export function cloneGraphStructure(graph: OnnxGraph): OnnxGraph {
  return {
    ...graph,
    node: graph.node.map(cloneNodeStructure),
    initializer: [...graph.initializer],
    input: [...graph.input],
    output: [...graph.output],
    valueInfo: [...graph.valueInfo],
  }
}

function cloneNodeStructure(node: OnnxNode): OnnxNode {
  return { ...node, input: [...node.input], output: [...node.output], attribute: node.attribute.map(cloneAttributeStructure) }
}

function cloneAttributeStructure(attribute: OnnxAttribute): OnnxAttribute {
  const copy: OnnxAttribute = { ...attribute }
  if (attribute.g !== undefined) copy.g = cloneGraphStructure(attribute.g)
  if (attribute.graphs !== undefined) copy.graphs = attribute.graphs.map(cloneGraphStructure)
  return copy
}

/** The subgraphs a node holds (If branches, Loop/Scan bodies), in attribute order. */
export function nodeSubgraphs(node: OnnxNode): OnnxGraph[] {
  const out: OnnxGraph[] = []
  for (const attribute of node.attribute) {
    if (attribute.g !== undefined && (attribute.type === AttributeType.GRAPH || attribute.type === undefined)) out.push(attribute.g)
    for (const graph of attribute.graphs ?? []) out.push(graph)
  }
  return out
}

/** A graph and the graphs enclosing it, innermost first: names resolve like lexical variables. */
export interface Scope {
  graph: OnnxGraph
  parent: Scope | undefined
  /** 'main', 'main/If_0.then_branch', ... for reports. */
  path: string
}

export interface ConstantSource {
  tensor: OnnxTensor
  /** The graph holding the initializer or Constant node, where derived constants should be stored too. */
  owner: OnnxGraph
  /** Set when the value comes from a Constant node rather than an initializer. */
  constantNode?: OnnxNode
}

/**
 * Finds the constant value of a name: an initializer, or the 'value' tensor of a Constant node, searching the scope
 * and its parents. A graph input with the same name as an initializer is overridable, so it is not constant.
 */
export function findConstant(scope: Scope | undefined, name: string): ConstantSource | undefined {
  for (let current = scope; current !== undefined; current = current.parent) {
    const { graph } = current
    const initializer = graph.initializer.find((tensor) => tensor.name === name)
    if (initializer !== undefined) {
      if (graph.input.some((input) => input.name === name)) return undefined
      return { tensor: initializer, owner: graph }
    }
    const producer = graph.node.find((node) => node.output.includes(name))
    if (producer !== undefined) {
      if (producer.opType !== 'Constant' || (producer.domain ?? '') !== '') return undefined
      const value = producer.attribute.find((attribute) => attribute.name === 'value' && attribute.t !== undefined)?.t
      return value === undefined ? undefined : { tensor: { ...value, name }, owner: graph, constantNode: producer }
    }
    if (graph.input.some((input) => input.name === name)) return undefined
  }
  return undefined
}

export function isFloat32Constant(source: ConstantSource | undefined): source is ConstantSource {
  return source !== undefined && source.tensor.dataType === TensorDataType.FLOAT
}

function collectGraphNames(graph: OnnxGraph, names: Set<string>): void {
  for (const value of [...graph.input, ...graph.output, ...graph.valueInfo]) if (value.name) names.add(value.name)
  for (const tensor of graph.initializer) if (tensor.name) names.add(tensor.name)
  for (const node of graph.node) {
    if (node.name) names.add(node.name)
    for (const name of [...node.input, ...node.output]) if (name) names.add(name)
    for (const subgraph of nodeSubgraphs(node)) collectGraphNames(subgraph, names)
  }
}

/** Hands out names unused anywhere in the model (tensor and node names share one pool, for readability). */
export interface NameAllocator {
  unique(base: string): string
  has(name: string): boolean
}

export function createNameAllocator(model: OnnxModel): NameAllocator {
  const names = new Set<string>()
  if (model.graph !== undefined) collectGraphNames(model.graph, names)
  return {
    unique(base: string): string {
      let candidate = base
      for (let suffix = 1; names.has(candidate); suffix++) candidate = `${base}_${suffix}`
      names.add(candidate)
      return candidate
    },
    has: (name) => names.has(name),
  }
}

function countGraphUses(graph: OnnxGraph, uses: Map<string, number>): void {
  for (const node of graph.node) {
    for (const name of node.input) if (name) uses.set(name, (uses.get(name) ?? 0) + 1)
    for (const subgraph of nodeSubgraphs(node)) countGraphUses(subgraph, uses)
  }
  for (const output of graph.output) if (output.name) uses.set(output.name, (uses.get(output.name) ?? 0) + 1)
}

/** How many node inputs and graph outputs read each name, across every graph of the model. */
export function countUses(model: OnnxModel): Map<string, number> {
  return model.graph === undefined ? new Map<string, number>() : countUsesInGraph(model.graph)
}

/** The same for one graph and the subgraphs nested in it. */
export function countUsesInGraph(graph: OnnxGraph): Map<string, number> {
  const uses = new Map<string, number>()
  countGraphUses(graph, uses)
  return uses
}

/**
 * Drops initializers and Constant nodes that nothing reads any more (the float weights a recipe replaced), with their
 * graph inputs and value infos. Only names in `candidates` are considered, so unrelated unused tensors stay.
 */
export function removeUnusedConstants(model: OnnxModel, candidates: ReadonlySet<string>): string[] {
  const removed: string[] = []
  const visit = (graph: OnnxGraph, uses: Map<string, number>) => {
    const isDead = (name: string | undefined) => name !== undefined && candidates.has(name) && (uses.get(name) ?? 0) === 0
    const deadInitializers = graph.initializer.filter((tensor) => isDead(tensor.name)).map((tensor) => tensor.name ?? '')
    const deadConstants = graph.node.filter((node) => node.opType === 'Constant' && node.output.length === 1 && isDead(node.output[0]))
    if (deadInitializers.length > 0 || deadConstants.length > 0) {
      const dead = new Set([...deadInitializers, ...deadConstants.map((node) => node.output[0] ?? '')])
      graph.initializer = graph.initializer.filter((tensor) => !dead.has(tensor.name ?? ''))
      graph.node = graph.node.filter((node) => !deadConstants.includes(node))
      graph.input = graph.input.filter((input) => !dead.has(input.name ?? ''))
      graph.valueInfo = graph.valueInfo.filter((info) => !dead.has(info.name ?? ''))
      removed.push(...dead)
    }
    for (const node of graph.node) for (const subgraph of nodeSubgraphs(node)) visit(subgraph, uses)
  }
  if (model.graph !== undefined) visit(model.graph, countUses(model))
  return removed
}

/**
 * Inserts nodes right after the node producing `name` in `graph`, or at the top when the name is a graph input, an
 * initializer or comes from an enclosing scope. Keeps the node list topologically sorted, which ONNX requires.
 */
export function insertAfterProducer(graph: OnnxGraph, name: string, nodes: OnnxNode[]): void {
  const producerIndex = graph.node.findIndex((node) => node.output.includes(name))
  graph.node.splice(producerIndex + 1, 0, ...nodes)
}

/** Ensures the model imports `domain` at `version` or later. */
export function ensureOpsetImport(model: OnnxModel, domain: string, version: number): void {
  const isDefault = domain === '' || domain === 'ai.onnx'
  const existing = model.opsetImport.find((opset) => (isDefault ? (opset.domain ?? '') === '' || opset.domain === 'ai.onnx' : opset.domain === domain))
  if (existing === undefined) model.opsetImport.push({ domain, version })
  else if ((existing.version ?? 0) < version) existing.version = version
}

/** The lowest IR version that may carry a default-domain opset (onnx/helper.py VERSION_TABLE). */
export function minimumIrVersionForOpset(opset: number): number {
  if (opset <= 8) return 3
  if (opset === 9) return 4
  if (opset === 10) return 5
  if (opset === 11) return 6
  if (opset <= 14) return 7
  if (opset <= 18) return 8
  if (opset <= 20) return 9
  return 10
}

/**
 * Traversal of every graph, node and tensor of an ONNX model: the main graph, subgraphs held by node attributes
 * (If then/else, Loop and Scan bodies, nested at any depth), model-local function bodies and training graphs.
 * Paths name where something lives: 'main', 'main/If_3.then_branch', 'function:custom.Gelu', 'training[0].algorithm'.
 */
import { AttributeType, type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnxModel.ts'

export interface GraphVisit {
  graph: OnnxGraph
  /** 'main' for the model graph; subgraphs append '/<node name or op_index>.<attribute>'. */
  path: string
  /** Nesting depth: 0 for the main graph, function bodies and training graphs. */
  depth: number
}

export interface NodeVisit {
  node: OnnxNode
  /** The path of the graph (or function) holding the node. */
  path: string
  depth: number
}

export type TensorOrigin = 'initializer' | 'sparse-initializer' | 'attribute'

export interface TensorVisit {
  tensor: OnnxTensor
  origin: TensorOrigin
  path: string
  /** The node whose attribute holds the tensor (Constant value, ConstantOfShape value, ...), for origin 'attribute'. */
  node?: OnnxNode
}

export function nodeLabel(node: OnnxNode, index: number): string {
  return node.name !== undefined && node.name !== '' ? node.name : `${node.opType ?? 'node'}_${index}`
}

/** Subgraphs held by one attribute, with the suffix that names each in a path. */
export function attributeSubgraphs(attribute: OnnxAttribute): Array<{ graph: OnnxGraph; suffix: string }> {
  const name = attribute.name ?? 'graph'
  const out: Array<{ graph: OnnxGraph; suffix: string }> = []
  if (attribute.g !== undefined && (attribute.type === AttributeType.GRAPH || attribute.type === undefined)) out.push({ graph: attribute.g, suffix: name })
  ;(attribute.graphs ?? []).forEach((graph, i) => out.push({ graph, suffix: `${name}[${i}]` }))
  return out
}

function walkNodes(
  nodes: OnnxNode[],
  path: string,
  depth: number,
  onGraph: ((visit: GraphVisit) => void) | undefined,
  onNode: ((visit: NodeVisit) => void) | undefined,
): void {
  nodes.forEach((node, index) => {
    onNode?.({ node, path, depth })
    for (const attribute of node.attribute) {
      for (const { graph, suffix } of attributeSubgraphs(attribute)) {
        walkGraph(graph, `${path}/${nodeLabel(node, index)}.${suffix}`, depth + 1, onGraph, onNode)
      }
    }
  })
}

function walkGraph(
  graph: OnnxGraph,
  path: string,
  depth: number,
  onGraph: ((visit: GraphVisit) => void) | undefined,
  onNode: ((visit: NodeVisit) => void) | undefined,
): void {
  onGraph?.({ graph, path, depth })
  walkNodes(graph.node, path, depth, onGraph, onNode)
}

/** Visits graphs depth-first (a graph before its subgraphs) and, optionally, every node of each. */
export function walkModel(model: OnnxModel, visitors: { graph?: (visit: GraphVisit) => void; node?: (visit: NodeVisit) => void }): void {
  if (model.graph !== undefined) walkGraph(model.graph, 'main', 0, visitors.graph, visitors.node)
  for (const fn of model.functions ?? []) {
    walkNodes(fn.node, `function:${fn.domain ?? ''}.${fn.name ?? ''}`, 0, visitors.graph, visitors.node)
  }
  ;(model.trainingInfo ?? []).forEach((info, i) => {
    if (info.initialization !== undefined) walkGraph(info.initialization, `training[${i}].initialization`, 0, visitors.graph, visitors.node)
    if (info.algorithm !== undefined) walkGraph(info.algorithm, `training[${i}].algorithm`, 0, visitors.graph, visitors.node)
  })
}

export function forEachGraph(model: OnnxModel, visit: (visit: GraphVisit) => void): void {
  walkModel(model, { graph: visit })
}

export function forEachNode(model: OnnxModel, visit: (visit: NodeVisit) => void): void {
  walkModel(model, { node: visit })
}

/** Every tensor with stored values: initializers, sparse initializers (values and indices) and attribute tensors. */
export function forEachTensor(model: OnnxModel, visit: (visit: TensorVisit) => void): void {
  walkModel(model, {
    graph: ({ graph, path }) => {
      for (const tensor of graph.initializer) visit({ tensor, origin: 'initializer', path })
      for (const sparse of graph.sparseInitializer ?? []) {
        if (sparse.values !== undefined) visit({ tensor: sparse.values, origin: 'sparse-initializer', path })
        if (sparse.indices !== undefined) visit({ tensor: sparse.indices, origin: 'sparse-initializer', path })
      }
    },
    node: ({ node, path }) => {
      for (const attribute of node.attribute) {
        if (attribute.t !== undefined) visit({ tensor: attribute.t, origin: 'attribute', path, node })
        for (const tensor of attribute.tensors ?? []) visit({ tensor, origin: 'attribute', path, node })
        for (const sparse of [attribute.sparseTensor, ...(attribute.sparseTensors ?? [])]) {
          if (sparse?.values !== undefined) visit({ tensor: sparse.values, origin: 'attribute', path, node })
          if (sparse?.indices !== undefined) visit({ tensor: sparse.indices, origin: 'attribute', path, node })
        }
      }
    },
  })
}

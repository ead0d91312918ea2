/** Renaming values across a graph and the subgraphs that read them from the outer scope. Pure; mutates in place. */
import { definedNames, nodeSubgraphs } from './elementTypes.ts'
import type { OnnxGraph } from './onnxModel.ts'

/** Renames reads of an outer-scope value inside a subgraph tree, stopping where a graph defines the name itself. */
export function renameFreeReferences(graph: OnnxGraph, from: string, to: string): void {
  if (definedNames(graph).has(from)) return
  for (const node of graph.node) {
    node.input = node.input.map((name) => (name === from ? to : name))
    for (const sub of nodeSubgraphs(node)) renameFreeReferences(sub, from, to)
  }
  for (const output of graph.output) if (output.name === from) output.name = to
}

/** Renames a value this graph defines, everywhere it is produced or read; graph inputs and outputs keep their names. */
export function renameDefinedValue(graph: OnnxGraph, from: string, to: string): void {
  for (const node of graph.node) {
    node.output = node.output.map((name) => (name === from ? to : name))
    node.input = node.input.map((name) => (name === from ? to : name))
    for (const sub of nodeSubgraphs(node)) renameFreeReferences(sub, from, to)
  }
  for (const t of graph.initializer) if (t.name === from) t.name = to
  for (const v of graph.valueInfo) if (v.name === from) v.name = to
}

/** Points every read of `from` (in this graph and its subgraphs) at `to`, which the graph already defines. */
export function redirectReads(graph: OnnxGraph, from: string, to: string): void {
  for (const node of graph.node) {
    node.input = node.input.map((name) => (name === from ? to : name))
    for (const sub of nodeSubgraphs(node)) renameFreeReferences(sub, from, to)
  }
}

/**
 * Turns Constant nodes into initializers of the graph that holds them (subgraphs included). Same values, same
 * names, fewer bytes: a Constant node repeats its op type, an attribute wrapper and usually a tensor name per
 * weight, which for exporters that emit every weight as a Constant (PaddleOCR, spox) is 5-10% of a half-precision
 * file. onnxruntime performs the same conversion when it loads a model. Pure; both functions mutate the model given.
 */
import { isDefaultDomain, type OnnxGraph, type OnnxModel, type OnnxTensor } from './onnxModel.ts'
import { redirectReads } from './graphRename.ts'
import { forEachGraph } from './onnxWalk.ts'
import { TensorDataType, tensorRawBytes } from './tensorData.ts'

function constantValue(attributes: OnnxGraph['node'][number]['attribute']): OnnxTensor | undefined {
  if (attributes.length !== 1) return undefined
  const a = attributes[0]
  if (a === undefined || a.refAttrName !== undefined) return undefined
  if (a.name === 'value' && a.t !== undefined && a.t.dataType !== TensorDataType.STRING) return a.t
  if (a.name === 'value_float') return { dims: [], dataType: TensorDataType.FLOAT, floatData: [a.f ?? 0] }
  if (a.name === 'value_floats') return { dims: [a.floats?.length ?? 0], dataType: TensorDataType.FLOAT, floatData: a.floats ?? [] }
  if (a.name === 'value_int') return { dims: [], dataType: TensorDataType.INT64, int64Data: [a.i ?? 0] }
  if (a.name === 'value_ints') return { dims: [a.ints?.length ?? 0], dataType: TensorDataType.INT64, int64Data: a.ints ?? [] }
  return undefined
}

/** Returns how many Constant nodes became initializers. */
export function constantsToInitializers(model: OnnxModel): number {
  // Before IR 4 every main-graph initializer must also be a graph input; leave such models alone.
  const irAllowsMain = (model.irVersion ?? 0) >= 4
  let moved = 0
  forEachGraph(model, ({ graph, path }) => {
    if (path === 'main' && !irAllowsMain) return
    const outputs = new Set(graph.output.map((o) => o.name))
    const existing = new Set(graph.initializer.map((t) => t.name))
    graph.node = graph.node.filter((node) => {
      if (node.opType !== 'Constant' || !isDefaultDomain(node.domain) || node.output.length !== 1) return true
      const name = node.output[0]
      if (name === undefined || name === '' || outputs.has(name) || existing.has(name)) return true
      const value = constantValue(node.attribute)
      if (value === undefined) return true
      const initializer: OnnxTensor = { ...value, name }
      delete initializer.docString
      graph.initializer.push(initializer)
      existing.add(name)
      moved++
      return false
    })
  })
  return moved
}

/** FNV-1a over bytes: a cheap bucket key; equal buckets are confirmed byte by byte. */
function fingerprint(bytes: Uint8Array): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ (bytes[i] ?? 0), 0x01000193)
  return hash >>> 0
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Merges initializers with identical type, shape and bytes within each graph, pointing readers at the first one
 * (onnxruntime's ConstantSharing does the same at load time). Graph inputs and outputs keep their own tensors.
 * Returns how many initializers were removed.
 */
export function deduplicateInitializers(model: OnnxModel): number {
  let removed = 0
  forEachGraph(model, ({ graph }) => {
    const pinned = new Set([...graph.input, ...graph.output].map((v) => v.name))
    const buckets = new Map<string, Array<{ name: string; bytes: Uint8Array }>>()
    const keep: OnnxTensor[] = []
    for (const tensor of graph.initializer) {
      const name = tensor.name ?? ''
      if (pinned.has(name) || tensor.dataType === TensorDataType.STRING || tensor.dataLocation === 1) {
        keep.push(tensor)
        continue
      }
      const bytes = tensorRawBytes(tensor)
      const key = `${tensor.dataType}|${tensor.dims.join(',')}|${bytes.length}|${fingerprint(bytes)}`
      const bucket = buckets.get(key) ?? []
      const twin = bucket.find((candidate) => sameBytes(candidate.bytes, bytes))
      if (twin !== undefined) {
        redirectReads(graph, name, twin.name)
        graph.valueInfo = graph.valueInfo.filter((v) => v.name !== name)
        removed++
        continue
      }
      bucket.push({ name, bytes })
      buckets.set(key, bucket)
      keep.push(tensor)
    }
    graph.initializer = keep
  })
  return removed
}

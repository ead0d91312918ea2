/**
 * Builds the model calibration runs: the original graph with the tensors to measure added as graph outputs, so one
 * onnxruntime run yields every intermediate activation (onnxruntime's calibrate.py augments the model the same way).
 * Outputs are added without a type; onnxruntime infers it, and the calibration adapter skips non-float results. Pure.
 */
import { AppError } from '../../../src-shared/errors.ts'
import type { OnnxModel } from '../packaging/onnxModel.ts'
import { cloneModelStructure } from './graphTools.ts'

export function exposeTensorsAsOutputs(model: OnnxModel, tensorNames: readonly string[]): OnnxModel {
  if (model.graph === undefined) throw new AppError('model-invalid', 'The model has no graph.')
  const augmented = cloneModelStructure(model)
  const graph = augmented.graph
  if (graph === undefined) throw new AppError('model-invalid', 'The model has no graph.')
  const present = new Set(graph.output.map((output) => output.name ?? ''))
  const inputs = new Set(graph.input.map((input) => input.name ?? ''))
  for (const name of tensorNames) {
    // A graph input is fed, not produced: the adapter measures it from the feed.
    if (present.has(name) || inputs.has(name)) continue
    graph.output.push({ name })
    present.add(name)
  }
  return augmented
}

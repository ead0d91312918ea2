import { z } from 'zod'
import { Instant, ModelId, Sha256Hex } from './ids.ts'

export const ModelFormat = z.enum(['onnx', 'tflite'])
export type ModelFormat = z.infer<typeof ModelFormat>

/** One input or output of a model: a dimension is a number, a symbolic name, or null when unknown. */
export const TensorInfo = z.object({
  name: z.string().max(256),
  elementType: z.string().max(32),
  shape: z.array(z.union([z.number().int(), z.string().max(64), z.null()])).max(16),
})
export type TensorInfo = z.infer<typeof TensorInfo>

export const ModelSummary = z.object({
  modelId: ModelId,
  name: z.string().max(128),
  version: z.string().max(64),
  format: ModelFormat,
  sha256: Sha256Hex,
  sizeBytes: z.number().int().nonnegative(),
  importedAt: Instant,
  inputs: z.array(TensorInfo),
  outputs: z.array(TensorInfo),
  /** The file name the model was imported from, for display. */
  sourceFileName: z.string().max(256),
})
export type ModelSummary = z.infer<typeof ModelSummary>

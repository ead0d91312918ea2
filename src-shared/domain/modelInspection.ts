import { z } from 'zod'
import { ModelFormat, TensorInfo } from './model.ts'

/** Parameters of one element type: element count and stored bytes (external data included). */
export const ParameterBucket = z.object({
  dtype: z.string().max(32),
  count: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
})
export type ParameterBucket = z.infer<typeof ParameterBucket>

/** How often an operator occurs in one graph. path is 'main', or 'main/<node>.<attribute>' for If/Loop/Scan bodies. */
export const OpCount = z.object({
  opType: z.string().max(128),
  /** '' for the default ONNX domain; 'tflite' for TFLite builtins, 'tflite.custom' for TFLite custom codes. */
  domain: z.string().max(128),
  path: z.string().max(1024),
  count: z.number().int().positive(),
})
export type OpCount = z.infer<typeof OpCount>

export const CustomOp = z.object({
  domain: z.string().max(128),
  opType: z.string().max(128),
  count: z.number().int().positive(),
  /** True when a model-local ONNX function defines it, so no runtime kernel is needed. */
  definedByModelFunction: z.boolean(),
})
export type CustomOp = z.infer<typeof CustomOp>

/** What `outpost model inspect` reports: the structure of an ONNX or TFLite model, read without running it. */
export const ModelInspection = z.object({
  format: ModelFormat,
  sizeBytes: z.number().int().nonnegative(),
  /** ONNX IR version, or TFLite schema version. */
  formatVersion: z.number().int().nonnegative(),
  irVersion: z.number().int().nonnegative().nullable(),
  /** domain → opset version ('' is the default ONNX domain). Empty for TFLite. */
  opsets: z.record(z.string().max(128), z.number().int()),
  producerName: z.string().max(256).nullable(),
  producerVersion: z.string().max(256).nullable(),
  description: z.string().max(4096).nullable(),
  metadata: z.array(z.object({ key: z.string().max(256), value: z.string().max(4096) })).max(256),
  inputs: z.array(TensorInfo).max(1024),
  outputs: z.array(TensorInfo).max(1024),
  nodeCount: z.number().int().nonnegative(),
  opHistogram: z.array(OpCount).max(20_000),
  customOps: z.array(CustomOp).max(1024),
  parameterCount: z.number().int().nonnegative(),
  parameterBytes: z.number().int().nonnegative(),
  parametersByDtype: z.array(ParameterBucket).max(64),
  externalDataFiles: z.array(z.object({ location: z.string().max(1024), sizeBytes: z.number().int().nonnegative(), tensorCount: z.number().int().positive() })).max(1024),
  /** Graphs other than the main one: ONNX If/Loop/Scan bodies (any depth), TFLite subgraphs after the first. */
  subgraphCount: z.number().int().nonnegative(),
  /** Things that do not stop inspection but matter for deployment (IR or opset newer than supported, custom ops). */
  warnings: z.array(z.string().max(1024)).max(256),
})
export type ModelInspection = z.infer<typeof ModelInspection>

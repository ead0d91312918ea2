/**
 * Runs one optimization recipe on a decoded ONNX model (external data already loaded) and proves the result loads
 * in onnxruntime. Shared by `outpost model optimize` (files) and the control center's packager (stored bytes).
 * The graph transforms themselves are synchronous; this yields to the event loop between phases, and onnxruntime
 * calls (calibration runs, session creation) are asynchronous.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import * as ort from 'onnxruntime-node'
import {
  type CalibrationMethodName,
  MAX_CARD_NODE_ENTRIES,
  type OptimizationRecipe,
  type PackagingPhase,
  type RecipeReport,
} from '../../../src-shared/contract/packagingContract.ts'
import type { PackagingProgress } from '../../../src-shared/domain/evaluation.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { convertToFloat16, type Float16Report } from '../../core/packaging/convertToFloat16.ts'
import { forEachNode } from '../../core/packaging/onnxWalk.ts'
import { SUPPORTED_DEFAULT_OPSET, SUPPORTED_IR_VERSION, defaultOpsetVersion, type OnnxModel } from '../../core/packaging/onnxModel.ts'
import type { QuantizationReport } from '../../core/quantization/quantizationReport.ts'
import { quantizeDynamic } from '../../core/quantization/quantizeDynamic.ts'
import { quantizeStaticCalibrated } from '../evaluation/quantizeCalibrated.ts'
import { optimizeGraphFile, type GraphOptimizationReport } from '../modelformats/optimizeGraph.ts'
import { decodeOnnx, encodeOnnx } from '../modelformats/onnxCodec.ts'
import type { NdArray } from '../numpy/npy.ts'

export interface RecipeProgress {
  phase: PackagingPhase
  /** Of the whole optimize operation, 0..1. */
  fraction: number
}

export interface RecipeOptions {
  recipe: OptimizationRecipe
  method?: CalibrationMethodName | undefined
  perChannel?: boolean | undefined
  /** int8-static only: arrays keyed by model input name (planInputBatches decides how they feed). */
  calibration?: ReadonlyMap<string, NdArray> | undefined
  /** Names the calibration set in error messages. */
  calibrationSource?: string | undefined
  onProgress?: ((progress: RecipeProgress) => void) | undefined
}

export interface RecipeOutcome {
  bytes: Uint8Array
  report: RecipeReport
  sourceNodeCount: number
  outputNodeCount: number
}

/** Where each phase of an optimize operation sits on the progress bar. */
export const OPTIMIZE_PROGRESS = {
  loading: 0.02,
  transformingStart: 0.05,
  calibrationEnd: 0.8,
  verifying: 0.85,
  storing: 0.95,
} as const

/**
 * Says what is wrong with a recipe's options as a sentence, or undefined when they fit: calibration and a method
 * only for int8-static (which needs calibration), per-channel only for the int8 recipes.
 */
export function recipeOptionProblem(recipe: OptimizationRecipe, options: { method?: unknown; perChannel?: boolean | undefined; hasCalibration: boolean }): string | undefined {
  if (recipe === 'int8-static' && !options.hasCalibration) return 'The int8-static recipe needs a calibration set (.npy/.npz inputs, or synthetic ones)'
  if (recipe !== 'int8-static' && options.hasCalibration) return `Only the int8-static recipe takes a calibration set, not ${recipe}`
  if (recipe !== 'int8-static' && options.method !== undefined) return `Only the int8-static recipe takes a calibration method, not ${recipe}`
  if ((recipe === 'graph' || recipe === 'fp16') && options.perChannel === true) return `Per-channel weights apply to the int8 recipes, not ${recipe}`
  return undefined
}

/** Refuses models newer than the codec and recipes know: they could silently lose fields or meet unknown operators. */
export function assertRecipeCanRead(model: OnnxModel): void {
  const irVersion = model.irVersion ?? 0
  if (irVersion > SUPPORTED_IR_VERSION) {
    throw new AppError('model-unsupported', `The model has IR version ${irVersion}; Outpost's recipes support up to IR ${SUPPORTED_IR_VERSION}. Export it with an older ONNX version.`, {
      irVersion,
    })
  }
  const opset = defaultOpsetVersion(model)
  if (opset !== undefined && opset > SUPPORTED_DEFAULT_OPSET) {
    throw new AppError('model-unsupported', `The model uses opset ${opset}; Outpost's recipes support up to opset ${SUPPORTED_DEFAULT_OPSET}. Export it at a lower opset.`, {
      opset,
    })
  }
}

export function countNodes(model: OnnxModel): number {
  let count = 0
  forEachNode(model, () => count++)
  return count
}

/** Loads the bytes in onnxruntime (CPU) and releases the session: every emitted model must run on stock onnxruntime. */
export async function assertLoadsInOnnxRuntime(bytes: Uint8Array, what: string): Promise<void> {
  let session: ort.InferenceSession
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], logSeverityLevel: 3 })
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 300) ?? 'unknown error'
    throw new AppError('model-load-failed', `onnxruntime cannot load ${what}: ${reason}`, { reason })
  }
  await session.release()
}

function quantizationReport(report: QuantizationReport, calibratedTensorCount: number | null): RecipeReport {
  const emitted: Record<string, number> = {}
  for (const node of report.quantizedNodes) emitted[`emitted ${node.emitted}`] = (emitted[`emitted ${node.emitted}`] ?? 0) + 1
  return {
    recipe: report.recipe,
    summary: {
      quantizedWeightCount: report.quantizedWeightCount,
      removedFloatWeightCount: report.removedFloatWeights.length,
      opsetUpgrade: report.opsetUpgrade === undefined ? null : `${report.opsetUpgrade.fromOpset} → ${report.opsetUpgrade.toOpset}`,
      biasClippedCount: report.biasClippedCount,
      removedActivationCount: report.removedActivations.length,
      ...(calibratedTensorCount === null ? {} : { calibratedTensorCount }),
      ...emitted,
    },
    quantizedNodeCount: report.quantizedNodes.length,
    quantizedNodes: report.quantizedNodes.slice(0, MAX_CARD_NODE_ENTRIES).map((node) => ({
      node: node.node.slice(0, 512),
      opType: node.opType.slice(0, 128),
      graphPath: node.graphPath.slice(0, 1024),
      emitted: node.emitted.slice(0, 128),
      perChannel: node.perChannel,
    })),
    skippedNodeCount: report.skippedNodes.length,
    skippedNodes: report.skippedNodes.slice(0, MAX_CARD_NODE_ENTRIES).map((node) => ({
      node: node.node.slice(0, 512),
      opType: node.opType.slice(0, 128),
      graphPath: node.graphPath.slice(0, 1024),
      reason: node.reason.slice(0, 1024),
    })),
    truncated: report.quantizedNodes.length > MAX_CARD_NODE_ENTRIES || report.skippedNodes.length > MAX_CARD_NODE_ENTRIES,
  }
}

function plainReport(recipe: 'graph' | 'fp16', summary: Float16Report | GraphOptimizationReport): RecipeReport {
  const flat: RecipeReport['summary'] = {}
  for (const [key, value] of Object.entries(summary) as Array<[string, unknown]>) {
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') flat[key] = value
    else if (Array.isArray(value)) flat[key] = value.slice(0, 256).map((item) => String(item).slice(0, 256))
  }
  return { recipe, summary: flat, quantizedNodeCount: 0, quantizedNodes: [], skippedNodeCount: 0, skippedNodes: [], truncated: false }
}

/** The graph recipe needs files: onnxruntime writes the optimized model to a path. */
async function runGraphRecipe(model: OnnxModel, sourceBytes: Uint8Array | undefined): Promise<{ bytes: Uint8Array; report: GraphOptimizationReport }> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-graph-'))
  try {
    const input = join(dir, 'source.onnx')
    const output = join(dir, 'optimized.onnx')
    await writeFile(input, sourceBytes ?? encodeOnnx(model))
    const { report } = await optimizeGraphFile(input, output, { level: 'extended' })
    return { bytes: await readFile(output), report }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Runs the recipe and checks the result loads. `sourceBytes` are the model file as read, used as is by the graph
 * recipe; leave them out when the model's external data was loaded into it. Throws 'invalid-input' (options, calibration shapes),
 * 'model-unsupported', 'model-load-failed', 'inference-failed' (calibration runs).
 */
export async function runRecipe(model: OnnxModel, sourceBytes: Uint8Array | undefined, options: RecipeOptions): Promise<RecipeOutcome> {
  const problem = recipeOptionProblem(options.recipe, { method: options.method, perChannel: options.perChannel, hasCalibration: options.calibration !== undefined })
  if (problem !== undefined) throw new AppError('invalid-input', problem, { recipe: options.recipe })
  assertRecipeCanRead(model)
  const progress = (phase: PackagingPhase, fraction: number) => options.onProgress?.({ phase, fraction })
  const sourceNodeCount = countNodes(model)
  progress('transforming', OPTIMIZE_PROGRESS.transformingStart)
  await nextTurn()

  let bytes: Uint8Array
  let report: RecipeReport
  let outputNodeCount: number
  switch (options.recipe) {
    case 'graph': {
      const result = await runGraphRecipe(model, sourceBytes)
      bytes = result.bytes
      report = plainReport('graph', result.report)
      // Counted the same way as the other recipes: every node, subgraphs included.
      outputNodeCount = countNodes(decodeOnnx(result.bytes))
      break
    }
    case 'fp16': {
      const result = convertToFloat16(model)
      await nextTurn()
      bytes = encodeOnnx(result.model)
      report = plainReport('fp16', result.report)
      outputNodeCount = countNodes(result.model)
      break
    }
    case 'int8-dynamic': {
      const result = quantizeDynamic(model, { perChannel: options.perChannel === true })
      await nextTurn()
      bytes = encodeOnnx(result.model)
      report = quantizationReport(result.report, null)
      outputNodeCount = countNodes(result.model)
      break
    }
    case 'int8-static': {
      const calibration = options.calibration
      if (calibration === undefined) throw new AppError('invalid-input', 'The int8-static recipe needs a calibration set')
      const method = options.method ?? 'minmax'
      // Calibration is the long part: one or two passes over the set, mapped onto the bar up to calibrationEnd.
      const span = OPTIMIZE_PROGRESS.calibrationEnd - OPTIMIZE_PROGRESS.transformingStart
      const passes = method === 'minmax' ? 1 : 2
      const onCalibration = (step: PackagingProgress) => {
        const pass = step.phase === 'calibration-histogram' ? 1 : 0
        const within = step.total === 0 ? 1 : step.completed / step.total
        const phase: PackagingPhase = step.phase === 'calibration-histogram' ? 'calibration-histogram' : 'calibration-range'
        progress(phase, OPTIMIZE_PROGRESS.transformingStart + (span * (pass + within)) / passes)
      }
      const result = await quantizeStaticCalibrated(model, calibration, {
        method,
        perChannel: options.perChannel === true,
        source: options.calibrationSource ?? 'The calibration set',
        onProgress: onCalibration,
      })
      progress('transforming', OPTIMIZE_PROGRESS.calibrationEnd)
      await nextTurn()
      bytes = encodeOnnx(result.model)
      report = quantizationReport(result.report, result.ranges.size)
      outputNodeCount = countNodes(result.model)
      break
    }
  }
  progress('verifying', OPTIMIZE_PROGRESS.verifying)
  await nextTurn()
  await assertLoadsInOnnxRuntime(bytes, `the ${options.recipe} result`)
  return { bytes, report, sourceNodeCount, outputNodeCount }
}

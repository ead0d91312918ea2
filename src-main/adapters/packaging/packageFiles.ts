/**
 * The packaging recipes on local files, for `outpost model optimize|evaluate`: read the source (with external
 * data), run the recipe, write OUT and OUT.card.json as a pair (both or neither), never touch the source.
 */
import { randomBytes } from 'node:crypto'
import { open, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import {
  type CalibrationMethodName,
  type CalibrationSummary,
  type CardEvaluation,
  ModelCard,
  type OptimizationRecipe,
} from '../../../src-shared/contract/packagingContract.ts'
import type { EvaluationResult, ReleaseGate, ReleaseReadiness } from '../../../src-shared/domain/evaluation.ts'
import type { TensorInfo } from '../../../src-shared/domain/model.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { evaluateReleaseReadiness } from '../../core/evaluation/releaseReadiness.ts'
import { onnxTensorInfo } from '../../core/packaging/inspectModel.ts'
import type { OnnxModel } from '../../core/packaging/onnxModel.ts'
import { evaluateModels } from '../evaluation/evaluateModels.ts'
import { assertDistinctOutput, tempPathFor } from '../modelformats/atomicWrite.ts'
import { detectModelFormat, readModelBytes } from '../modelformats/inspectFile.ts'
import { decodeOnnx, encodeOnnx, listExternalData, loadExternalData } from '../modelformats/onnxCodec.ts'
import { readArraySet, readLabelsFile } from './arraySets.ts'
import { buildModelCard, sha256Hex } from './modelCard.ts'
import { runRecipe } from './runRecipe.ts'

export const CARD_SUFFIX = '.card.json'

/** The inputs a caller feeds: graph inputs that are not initializers (before IR 4 weights were listed as inputs). */
export function graphInputs(model: OnnxModel): TensorInfo[] {
  const initializers = new Set((model.graph?.initializer ?? []).map((tensor) => tensor.name))
  return (model.graph?.input ?? []).filter((input) => !initializers.has(input.name)).map(onnxTensorInfo)
}

/** Reads an ONNX file for running or rewriting: external data pulled in from the file's folder. */
async function readOnnxSource(path: string): Promise<{ bytes: Uint8Array; model: OnnxModel; hasExternalData: boolean }> {
  const bytes = await readModelBytes(path)
  if (detectModelFormat(bytes, path) === 'tflite') {
    throw new AppError('model-unsupported', `${basename(path)} is a TFLite model; the recipes and evaluation work on ONNX models (inspect works on both)`, { path })
  }
  const model = decodeOnnx(bytes)
  const hasExternalData = listExternalData(model).length > 0
  if (hasExternalData) await loadExternalData(model, dirname(path))
  return { bytes, model, hasExternalData }
}

/** Model bytes onnxruntime can load from memory: a model with external data is re-encoded with the data inline. */
async function readRuntimeBytes(path: string): Promise<{ fileBytes: Uint8Array; runtimeBytes: Uint8Array; model: OnnxModel }> {
  const source = await readOnnxSource(path)
  return { fileBytes: source.bytes, runtimeBytes: source.hasExternalData ? encodeOnnx(source.model) : source.bytes, model: source.model }
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', 0o644)
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function writeFailure(error: unknown, target: string): AppError {
  if (error instanceof AppError) return error
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOSPC') return new AppError('disk-full', `The disk is full; ${target} was not written`, { path: target })
  if (code === 'ENOENT') return new AppError('invalid-input', `The folder for ${target} does not exist`, { path: target })
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new AppError('invalid-input', `${target} cannot be written here (${code})`, { path: target })
  return new AppError('internal', `Writing ${target} failed (${code ?? 'unknown error'})`, { path: target })
}

/**
 * Writes a model and its card as a pair: both go to temp files in the output folder first, then are renamed into
 * place; if the second rename fails the first file is removed again, so a failure never leaves one without the other.
 */
export async function writeModelWithCard(outputPath: string, modelBytes: Uint8Array, card: ModelCard): Promise<string> {
  const cardPath = `${outputPath}${CARD_SUFFIX}`
  const modelTemp = tempPathFor(outputPath)
  const cardTemp = tempPathFor(cardPath)
  let isModelInPlace = false
  try {
    await writeDurably(modelTemp, modelBytes)
    await writeDurably(cardTemp, new TextEncoder().encode(`${JSON.stringify(card, null, 2)}\n`))
    await rename(modelTemp, outputPath)
    isModelInPlace = true
    await rename(cardTemp, cardPath)
    return cardPath
  } catch (error) {
    await rm(modelTemp, { force: true })
    await rm(cardTemp, { force: true })
    if (isModelInPlace) await rm(outputPath, { force: true })
    throw writeFailure(error, outputPath)
  }
}

export interface OptimizeFileOptions {
  recipe: OptimizationRecipe
  method?: CalibrationMethodName | undefined
  perChannel?: boolean | undefined
  /** A .npy/.npz file or a directory of them (int8-static). */
  calibrationPath?: string | undefined
  toolVersion: string
  /** ISO instant the card is dated. */
  createdAt: string
}

export interface OptimizeFileResult {
  outputPath: string
  cardPath: string
  card: ModelCard
}

/** `outpost model optimize`. Throws as runRecipe, plus 'not-found' for a missing source or calibration path. */
export async function optimizeModelFile(inputPath: string, outputPath: string, options: OptimizeFileOptions): Promise<OptimizeFileResult> {
  const source = resolve(inputPath)
  const output = resolve(outputPath)
  assertDistinctOutput(source, output)
  assertDistinctOutput(source, `${output}${CARD_SUFFIX}`)
  const startedMs = performance.now()
  const { bytes, model, hasExternalData } = await readOnnxSource(source)
  let calibration: Awaited<ReturnType<typeof readArraySet>> | undefined
  if (options.calibrationPath !== undefined) calibration = await readArraySet(resolve(options.calibrationPath), graphInputs(model))
  const outcome = await runRecipe(model, hasExternalData ? undefined : bytes, {
    recipe: options.recipe,
    method: options.method,
    perChannel: options.perChannel,
    calibration: calibration?.arrays,
    calibrationSource: calibration === undefined ? undefined : `The calibration set ${calibration.summary.name}`,
  })
  const card = buildModelCard({
    createdAt: options.createdAt,
    toolVersion: options.toolVersion,
    source: { sha256: sha256Hex(bytes), fileName: basename(source).slice(0, 256), sizeBytes: bytes.length, modelId: null, name: null, version: null },
    outputFileName: basename(output),
    recipe: options.recipe,
    method: options.method,
    perChannel: options.perChannel === true,
    calibration: calibration?.summary ?? null,
    outcome,
    durationMs: performance.now() - startedMs,
  })
  const cardPath = await writeModelWithCard(output, outcome.bytes, card)
  return { outputPath: output, cardPath, card }
}

export interface EvaluateFilesOptions {
  baselinePath: string
  candidatePath: string
  /** A .npy/.npz file or a directory of them. */
  inputsPath: string
  labelsPath?: string | undefined
  timedRuns?: number | undefined
  gate: ReleaseGate
}

export interface EvaluateFilesResult {
  result: EvaluationResult
  readiness: ReleaseReadiness
  inputs: CalibrationSummary
  baselineSha256: string
  candidateSha256: string
}

/** `outpost model evaluate`. Throws 'not-found', 'invalid-input', 'model-invalid', 'model-load-failed', 'inference-failed'. */
export async function evaluateModelFiles(options: EvaluateFilesOptions): Promise<EvaluateFilesResult> {
  const baseline = await readRuntimeBytes(resolve(options.baselinePath))
  const candidate = await readRuntimeBytes(resolve(options.candidatePath))
  const inputs = await readArraySet(resolve(options.inputsPath), graphInputs(baseline.model))
  const labels = options.labelsPath === undefined ? undefined : await readLabelsFile(resolve(options.labelsPath))
  const result = await evaluateModels(baseline.runtimeBytes, candidate.runtimeBytes, {
    inputs: inputs.arrays,
    ...(labels === undefined ? {} : { labels }),
    ...(options.timedRuns === undefined ? {} : { timedRuns: options.timedRuns }),
    source: `The inputs ${inputs.summary.name}`,
  })
  // Sizes as stored on disk (the .onnx file), not the re-encoded bytes of a model with external data.
  result.baseline.sizeBytes = baseline.fileBytes.length
  result.candidate.sizeBytes = candidate.fileBytes.length
  result.sizeRatio = baseline.fileBytes.length === 0 ? 0 : candidate.fileBytes.length / baseline.fileBytes.length
  return {
    result,
    readiness: evaluateReleaseReadiness(result, options.gate),
    inputs: inputs.summary,
    baselineSha256: sha256Hex(baseline.fileBytes),
    candidateSha256: sha256Hex(candidate.fileBytes),
  }
}

/**
 * Records an evaluation verdict in the candidate's card (CANDIDATE.card.json), atomically. Throws 'not-found' when
 * there is no card, 'invalid-input' when the card describes another file.
 */
export async function updateCardEvaluation(candidatePath: string, evaluation: CardEvaluation, candidateSha256: string): Promise<string> {
  const cardPath = `${resolve(candidatePath)}${CARD_SUFFIX}`
  let text: string
  try {
    text = await readFile(cardPath, 'utf8')
  } catch {
    throw new AppError('not-found', `No model card at ${cardPath}; --update-card needs the card \`outpost model optimize\` wrote beside the candidate`, { cardPath })
  }
  let card: ModelCard
  try {
    card = ModelCard.parse(JSON.parse(text))
  } catch {
    throw new AppError('invalid-input', `${cardPath} is not a model card Outpost can read`, { cardPath })
  }
  if (card.output.sha256 !== candidateSha256) {
    throw new AppError('invalid-input', `${cardPath} describes a file with another sha256 than ${basename(candidatePath)}; it belongs to another model`, { cardPath })
  }
  const updated = ModelCard.parse({ ...card, evaluation })
  const temp = `${cardPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeDurably(temp, new TextEncoder().encode(`${JSON.stringify(updated, null, 2)}\n`))
    await rename(temp, cardPath)
  } catch (error) {
    await rm(temp, { force: true })
    throw writeFailure(error, cardPath)
  }
  return cardPath
}

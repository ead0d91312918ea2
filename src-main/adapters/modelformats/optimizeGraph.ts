/**
 * The `graph` recipe: onnxruntime's own offline graph optimizations at the portable 'extended' level (constant
 * folding, redundant node elimination, operator fusions into com.microsoft ops). 'all' would add layout
 * transformations specific to the optimizing machine's CPU (feasibility.md §3), so it is not offered.
 * ORT writes the optimized model to a temp file in the output folder; it is loaded once more to prove it works,
 * then renamed over the output, so a failure never leaves a partial file.
 */
import { rename, rm, stat } from 'node:fs/promises'
import * as ort from 'onnxruntime-node'
import { AppError } from '../../../src-shared/errors.ts'
import { assertDistinctOutput, tempPathFor, type FileRecipeResult } from './atomicWrite.ts'
import { decodeOnnx } from './onnxCodec.ts'
import { readModelBytes } from './inspectFile.ts'

export interface GraphOptimizationReport {
  level: 'basic' | 'extended'
  sourceNodeCount: number
  outputNodeCount: number
}

function loadFailure(error: unknown, path: string): AppError {
  const detail = error instanceof Error ? error.message.split('\n')[0]?.slice(0, 300) : String(error)
  return new AppError('model-load-failed', `onnxruntime cannot load ${path}: ${detail}`, { path })
}

export async function optimizeGraphFile(
  inputPath: string,
  outputPath: string,
  options: { level?: 'basic' | 'extended' } = {},
): Promise<FileRecipeResult<GraphOptimizationReport>> {
  assertDistinctOutput(inputPath, outputPath)
  const level = options.level ?? 'extended'
  const sourceBytes = await readModelBytes(inputPath)
  // Decoding first turns a damaged file into model-invalid with our sentence rather than ORT's parser message.
  const sourceModel = decodeOnnx(sourceBytes)
  const temp = tempPathFor(outputPath)
  try {
    let session: ort.InferenceSession
    try {
      session = await ort.InferenceSession.create(inputPath, { graphOptimizationLevel: level, optimizedModelFilePath: temp, executionProviders: ['cpu'] })
    } catch (error) {
      throw loadFailure(error, inputPath)
    }
    await session.release()
    try {
      await (await ort.InferenceSession.create(temp, { executionProviders: ['cpu'] })).release()
    } catch (error) {
      throw loadFailure(error, outputPath)
    }
    const output = decodeOnnx(await readModelBytes(temp))
    await rename(temp, outputPath)
    const outputSizeBytes = (await stat(outputPath)).size
    return {
      outputPath,
      sourceSizeBytes: sourceBytes.length,
      outputSizeBytes,
      report: { level, sourceNodeCount: sourceModel.graph?.node.length ?? 0, outputNodeCount: output.graph?.node.length ?? 0 },
    }
  } finally {
    await rm(temp, { force: true })
  }
}

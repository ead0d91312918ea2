/**
 * ModelPackager over onnxruntime-node and the model codecs, on bytes from the control center's model store.
 * Stored models are single files, so external data is refused rather than looked for.
 */
import { performance } from 'node:perf_hooks'
import type { PackagingProgress } from '../../../src-shared/domain/evaluation.ts'
import { ModelInspection } from '../../../src-shared/domain/modelInspection.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { inspectOnnxModel, inspectTfliteModel } from '../../core/packaging/inspectModel.ts'
import type { OnnxModel } from '../../core/packaging/onnxModel.ts'
import type { ArraySource, ModelPackager, PackagerProgressListener } from '../../ports/ModelPackager.ts'
import { evaluateModels } from '../evaluation/evaluateModels.ts'
import { detectModelFormat } from '../modelformats/inspectFile.ts'
import { decodeOnnx, listExternalData } from '../modelformats/onnxCodec.ts'
import { decodeTflite } from '../modelformats/tfliteCodec.ts'
import { readNumpy } from '../numpy/npz.ts'
import { type ArraySet, type InputShapes, labelsFromArrays, readArrayBytes, syntheticArraySet } from './arraySets.ts'
import { buildModelCard } from './modelCard.ts'
import { graphInputs } from './packageFiles.ts'
import { OPTIMIZE_PROGRESS, runRecipe } from './runRecipe.ts'

/** Where the evaluation's two passes sit on the progress bar. */
const EVALUATE_PROGRESS = { comparingStart: 0.05, latencyStart: 0.75 } as const

function decodeStoredOnnx(bytes: Uint8Array, fileName: string): OnnxModel {
  if (detectModelFormat(bytes, fileName) === 'tflite') {
    throw new AppError('model-unsupported', `${fileName} is a TFLite model; the recipes and evaluation work on ONNX models`, { fileName })
  }
  const model = decodeOnnx(bytes)
  if (listExternalData(model).length > 0) {
    throw new AppError('model-invalid', `${fileName} refers to external data files, which the control center does not store; optimize it with \`outpost model optimize\` instead`, {
      fileName,
    })
  }
  return model
}

function arraySetFrom(source: ArraySource, inputs: ReadonlyArray<InputShapes[number] & { elementType: string }>): ArraySet {
  return source.kind === 'upload' ? readArrayBytes(source.bytes, source.fileName, inputs) : syntheticArraySet(inputs, source.synthetic)
}

export function createOnnxModelPackager(): ModelPackager {
  return {
    async inspect(bytes, fileName) {
      if (detectModelFormat(bytes, fileName) === 'tflite') {
        return ModelInspection.parse(inspectTfliteModel(decodeTflite(bytes), { sizeBytes: bytes.length }))
      }
      return ModelInspection.parse(inspectOnnxModel(decodeOnnx(bytes), { sizeBytes: bytes.length }))
    },

    async optimize(bytes, request) {
      const startedMs = performance.now()
      request.onProgress?.({ phase: 'loading', fraction: OPTIMIZE_PROGRESS.loading })
      const model = decodeStoredOnnx(bytes, request.source.fileName)
      const calibration = request.calibration === undefined ? undefined : arraySetFrom(request.calibration, graphInputs(model))
      const outcome = await runRecipe(model, bytes, {
        recipe: request.recipe,
        method: request.method,
        perChannel: request.perChannel,
        calibration: calibration?.arrays,
        calibrationSource: calibration === undefined ? undefined : `The calibration set ${calibration.summary.name}`,
        onProgress: request.onProgress,
      })
      const card = buildModelCard({
        createdAt: request.createdAt,
        toolVersion: request.toolVersion,
        source: request.source,
        outputFileName: request.outputFileName,
        recipe: request.recipe,
        method: request.method,
        perChannel: request.perChannel === true,
        calibration: calibration?.summary ?? null,
        outcome,
        durationMs: performance.now() - startedMs,
      })
      return { bytes: outcome.bytes, card }
    },

    async evaluate(baselineBytes, candidateBytes, request) {
      request.onProgress?.({ phase: 'loading', fraction: 0 })
      const baseline = decodeStoredOnnx(baselineBytes, 'The baseline model')
      decodeStoredOnnx(candidateBytes, 'The candidate model')
      const inputs = arraySetFrom(request.inputs, graphInputs(baseline))
      const labels = request.labels === undefined ? undefined : labelsFromArrays(readNumpy(request.labels.bytes, `The labels file ${request.labels.fileName}`), request.labels.fileName)
      const result = await evaluateModels(baselineBytes, candidateBytes, {
        inputs: inputs.arrays,
        ...(labels === undefined ? {} : { labels }),
        ...(request.timedRuns === undefined ? {} : { timedRuns: request.timedRuns }),
        source: inputs.summary.source === 'synthetic' ? 'The synthetic inputs' : `The inputs ${inputs.summary.name}`,
        onProgress: evaluationProgress(request.onProgress),
      })
      return { result, inputs: inputs.summary }
    },
  }
}

function evaluationProgress(listener: PackagerProgressListener | undefined): ((progress: PackagingProgress) => void) | undefined {
  if (listener === undefined) return undefined
  return (step) => {
    const within = step.total === 0 ? 1 : step.completed / step.total
    if (step.phase === 'latency') {
      listener({ phase: 'latency', fraction: EVALUATE_PROGRESS.latencyStart + (1 - EVALUATE_PROGRESS.latencyStart) * within })
    } else {
      listener({ phase: 'evaluation', fraction: EVALUATE_PROGRESS.comparingStart + (EVALUATE_PROGRESS.latencyStart - EVALUATE_PROGRESS.comparingStart) * within })
    }
  }
}

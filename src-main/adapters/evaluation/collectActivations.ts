/**
 * Calibration runner: augments the model so the tensors to calibrate become outputs, runs onnxruntime over the
 * calibration set and streams per-tensor statistics (a min/max pass, then a histogram pass for percentile and
 * entropy), so activations are never all held in memory. Graph optimizations are disabled, as in onnxruntime's
 * calibrate.py, so tensor names survive.
 */
import * as ort from 'onnxruntime-node'
import type { PackagingProgress } from '../../../src-shared/domain/evaluation.ts'
import { AppError } from '../../../src-shared/errors.ts'
import type { OnnxModel } from '../../core/packaging/onnxModel.ts'
import {
  type CalibrationOptions,
  type Histogram,
  type RangeStatistics,
  type TensorRange,
  accumulateHistogram,
  accumulateRange,
  createHistogram,
  createRangeStatistics,
  needsHistogram,
  rangeFromStatistics,
} from '../../core/quantization/calibration.ts'
import { exposeTensorsAsOutputs } from '../../core/quantization/calibrationModel.ts'
import { encodeOnnx } from '../modelformats/onnxCodec.ts'
import type { NdArray } from '../numpy/npy.ts'
import { feedsForRun, planFeeds, sessionInputSpecs } from './feeds.ts'

export interface CollectActivationsOptions extends CalibrationOptions {
  /** Rows per run when the model's first axis is dynamic. Default 1, like onnxruntime's calibration readers. */
  batchSize?: number
  /** Names the calibration file in error messages. */
  source?: string
  onProgress?: (progress: PackagingProgress) => void
}

async function createCalibrationSession(model: OnnxModel, tensorNames: readonly string[]): Promise<ort.InferenceSession> {
  const bytes = encodeOnnx(exposeTensorsAsOutputs(model, tensorNames))
  try {
    return await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', executionProviders: ['cpu'] })
  } catch (error) {
    throw new AppError('model-load-failed', `onnxruntime could not load the model for calibration: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/**
 * Calibrated ranges for `tensorNames`. Tensors that turn out not to be float32 (or never produce a value) are left
 * out of the result, so the recipe keeps their nodes in float.
 */
export async function collectActivationRanges(
  model: OnnxModel,
  tensorNames: readonly string[],
  inputs: ReadonlyMap<string, NdArray>,
  options: CollectActivationsOptions,
): Promise<Map<string, TensorRange>> {
  const session = await createCalibrationSession(model, tensorNames)
  try {
    const specs = sessionInputSpecs(session)
    const plan = planFeeds(session, inputs, { batchSize: options.batchSize ?? 1, source: options.source ?? 'The calibration file' })
    if (plan.runs.length === 0) throw new AppError('invalid-input', `${options.source ?? 'The calibration file'} holds no samples.`)
    const inputNames = new Set(specs.map((spec) => spec.name))
    const fetched = tensorNames.filter((name) => !inputNames.has(name))
    const nonFloat = new Set<string>()
    const forEachActivation = async (phase: PackagingProgress['phase'], visit: (name: string, values: Float32Array) => void) => {
      for (const [index, run] of plan.runs.entries()) {
        const feeds = feedsForRun(run, inputs, specs)
        let outputs: ort.InferenceSession.ReturnType
        try {
          outputs = await session.run(feeds, fetched)
        } catch (error) {
          throw new AppError('inference-failed', `Calibration run ${index + 1} failed in onnxruntime: ${error instanceof Error ? error.message : String(error)}`, {
            run: index,
          })
        }
        for (const name of tensorNames) {
          const tensor = inputNames.has(name) ? feeds[name] : outputs[name]
          if (tensor === undefined || tensor.type !== 'float32') {
            nonFloat.add(name)
            continue
          }
          visit(name, tensor.data as Float32Array)
        }
        options.onProgress?.({ phase, completed: index + 1, total: plan.runs.length })
      }
    }
    const statistics = new Map<string, RangeStatistics>(tensorNames.map((name) => [name, createRangeStatistics()]))
    await forEachActivation('calibration-range', (name, values) => {
      accumulateRange(statistics.get(name) as RangeStatistics, values)
    })
    let histograms: Map<string, Histogram> | undefined
    if (needsHistogram(options.method)) {
      const created = new Map<string, Histogram>()
      for (const [name, stats] of statistics) created.set(name, createHistogram(stats, options.histogramBins))
      histograms = created
      await forEachActivation('calibration-histogram', (name, values) => {
        accumulateHistogram(created.get(name) as Histogram, values)
      })
    }
    const ranges = new Map<string, TensorRange>()
    for (const [name, stats] of statistics) {
      if (nonFloat.has(name) || stats.count === 0) continue
      ranges.set(name, rangeFromStatistics(options, stats, histograms?.get(name)))
    }
    return ranges
  } finally {
    await session.release()
  }
}

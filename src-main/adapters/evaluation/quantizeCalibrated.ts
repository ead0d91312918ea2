/**
 * The whole int8-static recipe: plan the tensors to calibrate, run calibration over the sample arrays, rewrite the
 * model to QDQ. Validation (opset, input names and shapes) happens before any long work starts.
 */
import type { OnnxModel } from '../../core/packaging/onnxModel.ts'
import type { TensorRange } from '../../core/quantization/calibration.ts'
import type { QuantizationResult } from '../../core/quantization/quantizationReport.ts'
import { type StaticQuantizationOptions, planStaticQuantization, quantizeStatic } from '../../core/quantization/quantizeStatic.ts'
import type { NdArray } from '../numpy/npy.ts'
import { type CollectActivationsOptions, collectActivationRanges } from './collectActivations.ts'

export interface CalibratedQuantizationResult extends QuantizationResult {
  ranges: Map<string, TensorRange>
}

export async function quantizeStaticCalibrated(
  model: OnnxModel,
  calibrationInputs: ReadonlyMap<string, NdArray>,
  options: StaticQuantizationOptions & CollectActivationsOptions,
): Promise<CalibratedQuantizationResult> {
  const plan = planStaticQuantization(model, options)
  const ranges = await collectActivationRanges(plan.preparedModel, plan.tensorsToCalibrate, calibrationInputs, options)
  return { ...quantizeStatic(plan.preparedModel, ranges, options), ranges }
}

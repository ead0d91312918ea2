import { useState } from 'react'
import {
  CALIBRATION_METHODS,
  type CalibrationMethodName,
  OPTIMIZATION_RECIPES,
  type OptimizationRecipe,
} from '../../../src-shared/contract/packagingContract.ts'
import type { ModelSummary } from '../../../src-shared/domain/model.ts'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { formatBytes } from '../../lib/format.ts'
import type { ModelFile } from '../../store/modelsSlice.ts'
import { useAppStore } from '../../store/StoreContext.tsx'
import { formatRatio } from './chartData.ts'
import { OperationProgressBar } from './OperationProgressBar.tsx'

export const recipeDescriptions: Record<OptimizationRecipe, string> = {
  graph: "onnxruntime's portable graph optimizations (constant folding, fusions); same precision",
  fp16: 'weights and compute in float16, inputs and outputs stay float32; about half the size',
  'int8-dynamic': 'int8 weights, activations quantized at run time (MatMul, Gemm, Conv, LSTM); no calibration needed',
  'int8-static': 'int8 weights and activations (QDQ) with ranges calibrated on sample inputs',
}

const DEFAULT_SYNTHETIC_COUNT = 64

/** Optimize one model with a recipe; the result is imported as a new model named after the recipe. */
export function OptimizePanel({ model }: { model: ModelSummary }) {
  const optimization = useAppStore((state) => state.optimization)
  const optimizeModel = useAppStore((state) => state.optimizeModel)
  const openPackagingTool = useAppStore((state) => state.openPackagingTool)
  const [recipe, setRecipe] = useState<OptimizationRecipe>('int8-dynamic')
  const [method, setMethod] = useState<CalibrationMethodName>('minmax')
  const [isPerChannel, setIsPerChannel] = useState(false)
  const [calibrationKind, setCalibrationKind] = useState<'synthetic' | 'file'>('synthetic')
  const [calibrationFile, setCalibrationFile] = useState<ModelFile | null>(null)
  const [sampleCount, setSampleCount] = useState(DEFAULT_SYNTHETIC_COUNT)
  const [seed, setSeed] = useState(1)

  const isRunning = optimization.status === 'running'
  const isThisModel = optimization.status !== 'idle' && optimization.modelId === model.modelId
  const isStatic = recipe === 'int8-static'
  const isInt8 = recipe === 'int8-dynamic' || isStatic
  const isCountValid = Number.isInteger(sampleCount) && sampleCount >= 1 && sampleCount <= 10_000
  const isSeedValid = Number.isInteger(seed) && seed >= 0 && seed <= 2 ** 32 - 1
  const hasCalibration = !isStatic || (calibrationKind === 'file' ? calibrationFile !== null : isCountValid && isSeedValid)
  const canSubmit = !isRunning && hasCalibration

  const submit = () => {
    if (!canSubmit) return
    void optimizeModel({
      modelId: model.modelId,
      recipe,
      method: isStatic ? method : undefined,
      perChannel: isInt8 && isPerChannel,
      calibration: !isStatic
        ? undefined
        : calibrationKind === 'file' && calibrationFile !== null
          ? { kind: 'file', file: calibrationFile }
          : { kind: 'synthetic', synthetic: { count: sampleCount, seed } },
    })
  }

  return (
    <div data-testid="optimize-panel">
      <form
        onSubmit={(event) => {
          event.preventDefault()
          submit()
        }}
      >
        <label className="block">
          Recipe
          <select data-testid="optimize-recipe" value={recipe} onChange={(event) => setRecipe(event.target.value as OptimizationRecipe)}>
            {OPTIMIZATION_RECIPES.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
          <span className="muted">{recipeDescriptions[recipe]}</span>
        </label>
        {isInt8 && (
          <label className="inline">
            <input type="checkbox" data-testid="optimize-per-channel" checked={isPerChannel} onChange={(event) => setIsPerChannel(event.target.checked)} /> Per-channel
            weight scales {isStatic && <span className="muted">(needs opset 13 or later)</span>}
          </label>
        )}
        {isStatic && (
          <fieldset className="calibration">
            <legend>Calibration</legend>
            <label className="block">
              Method
              <select data-testid="optimize-method" value={method} onChange={(event) => setMethod(event.target.value as CalibrationMethodName)}>
                {CALIBRATION_METHODS.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </label>
            <label className="inline">
              <input
                type="radio"
                name="calibration-kind"
                data-testid="optimize-calibration-synthetic"
                checked={calibrationKind === 'synthetic'}
                onChange={() => setCalibrationKind('synthetic')}
              />{' '}
              Synthetic inputs from the model's input shapes
            </label>
            {calibrationKind === 'synthetic' && (
              <div className="form-row">
                <label>
                  Samples
                  <input
                    type="number"
                    data-testid="optimize-synthetic-count"
                    min={1}
                    max={10_000}
                    value={sampleCount}
                    onChange={(event) => setSampleCount(Number(event.target.value))}
                  />
                </label>
                <label>
                  Seed
                  <input type="number" data-testid="optimize-synthetic-seed" min={0} value={seed} onChange={(event) => setSeed(Number(event.target.value))} />
                </label>
              </div>
            )}
            <label className="inline">
              <input
                type="radio"
                name="calibration-kind"
                data-testid="optimize-calibration-upload"
                checked={calibrationKind === 'file'}
                onChange={() => setCalibrationKind('file')}
              />{' '}
              Representative inputs from a .npz or .npy file (arrays named after the model inputs)
            </label>
            {calibrationKind === 'file' && (
              <label className="file-button">
                <span>{calibrationFile === null ? 'Choose calibration file…' : `${calibrationFile.name} (${formatBytes(calibrationFile.size)})`}</span>
                <input
                  type="file"
                  accept=".npz,.npy"
                  data-testid="optimize-calibration-file"
                  onChange={(event) => {
                    const file = event.target.files?.[0]
                    event.target.value = ''
                    if (file) setCalibrationFile(file)
                  }}
                />
              </label>
            )}
            <p className="muted">Synthetic inputs exercise the graph but not your data's ranges; real samples calibrate better.</p>
          </fieldset>
        )}
        <button type="submit" className="primary" data-testid="optimize-submit" disabled={!canSubmit}>
          {isRunning ? 'Optimizing…' : `Optimize with ${recipe}`}
        </button>
      </form>
      {isThisModel && optimization.status === 'running' && <OperationProgressBar progress={optimization.progress} testId="optimize-progress" label="Optimization in progress" />}
      {isThisModel && optimization.status === 'done' && (
        <div className="operation-result success" data-testid="optimize-result">
          <p>
            Created <strong>{`${optimization.result.model.name}@${optimization.result.model.version}`}</strong> (<code>{optimization.result.model.modelId}</code>):{' '}
            {formatBytes(optimization.result.card.metrics.sourceSizeBytes)} → {formatBytes(optimization.result.card.metrics.outputSizeBytes)} (
            {formatRatio(optimization.result.card.metrics.sizeRatio)}).
          </p>
          {optimization.result.card.report.quantizedNodeCount + optimization.result.card.report.skippedNodeCount > 0 && (
            <p>
              {optimization.result.card.report.quantizedNodeCount} nodes quantized, {optimization.result.card.report.skippedNodeCount} kept in float.
            </p>
          )}
          <button
            type="button"
            data-testid="optimize-compare"
            onClick={() => openPackagingTool({ kind: 'compare', candidateId: optimization.result.model.modelId, baselineId: model.modelId })}
          >
            Compare with {model.name}@{model.version}
          </button>
        </div>
      )}
      {isThisModel && optimization.status === 'failed' && <ErrorNotice error={optimization.error} />}
    </div>
  )
}

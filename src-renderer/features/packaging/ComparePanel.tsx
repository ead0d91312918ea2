import { useEffect, useState } from 'react'
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts'
import type { ModelEvaluation } from '../../../src-shared/contract/packagingContract.ts'
import type { ModelId } from '../../../src-shared/domain/ids.ts'
import type { ModelSummary } from '../../../src-shared/domain/model.ts'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { formatBytes, formatMs } from '../../lib/format.ts'
import type { ModelFile } from '../../store/modelsSlice.ts'
import { useAppStore } from '../../store/StoreContext.tsx'
import { CHART_COLORS } from './chartColors.ts'
import { errorHistogramRows, formatError, formatFraction, formatRatio, latencyDistributionRows, latencyQuantileRows, sizeRows } from './chartData.ts'
import { OperationProgressBar } from './OperationProgressBar.tsx'
import { ReleaseReadyBadge } from './ReleaseReadyBadge.tsx'

const CHART_WIDTH = 420
const CHART_HEIGHT = 220

/** A percentage typed by the user as a fraction, or undefined when empty; NaN when it is not a percentage. */
function percentField(text: string): number | undefined {
  if (text.trim() === '') return undefined
  const value = Number(text)
  return Number.isFinite(value) && value >= 0 && value <= 100 ? value / 100 : Number.NaN
}

/** Baseline vs candidate on the same inputs: sizes, latency, output errors, agreement, accuracy and the verdict. */
export function ComparePanel({ candidate, models, initialBaselineId }: { candidate: ModelSummary; models: ModelSummary[]; initialBaselineId: ModelId | undefined }) {
  const evaluation = useAppStore((state) => state.evaluation)
  const evaluateCandidate = useAppStore((state) => state.evaluateCandidate)
  const openPackagingTool = useAppStore((state) => state.openPackagingTool)
  const cardView = useAppStore((state) => state.cardViews[candidate.modelId])
  const loadCardView = useAppStore((state) => state.loadCardView)
  useEffect(() => {
    void loadCardView(candidate.modelId)
  }, [candidate.modelId, loadCardView])

  const others = models.filter((model) => model.modelId !== candidate.modelId && model.format === 'onnx')
  const cardSourceId = cardView?.status === 'ready' ? (cardView.value.card?.source.modelId ?? undefined) : undefined
  const [chosenBaselineId, setChosenBaselineId] = useState<ModelId | undefined>(initialBaselineId)
  // The user's pick, else the model the candidate was made from, else the first other model.
  const baselineId = [chosenBaselineId, cardSourceId, others[0]?.modelId].find((id) => id !== undefined && others.some((model) => model.modelId === id))
  const [inputsKind, setInputsKind] = useState<'synthetic' | 'file'>('synthetic')
  const [inputsFile, setInputsFile] = useState<ModelFile | null>(null)
  const [labelsFile, setLabelsFile] = useState<ModelFile | null>(null)
  const [sampleCount, setSampleCount] = useState(256)
  const [seed, setSeed] = useState(1)
  const [runs, setRuns] = useState(20)
  const [minAgreementText, setMinAgreementText] = useState('99')
  const [maxDropText, setMaxDropText] = useState('')

  const minAgreement = percentField(minAgreementText)
  const maxAccuracyDrop = percentField(maxDropText)
  const isRunning = evaluation.status === 'running'
  const isThisCandidate = evaluation.status !== 'idle' && evaluation.modelId === candidate.modelId
  const areFieldsValid =
    !Number.isNaN(minAgreement) &&
    !Number.isNaN(maxAccuracyDrop) &&
    Number.isInteger(runs) &&
    runs >= 1 &&
    runs <= 1000 &&
    (inputsKind === 'file' ? inputsFile !== null : Number.isInteger(sampleCount) && sampleCount >= 1 && sampleCount <= 10_000 && Number.isInteger(seed) && seed >= 0)
  const canSubmit = !isRunning && baselineId !== undefined && areFieldsValid

  return (
    <div data-testid="compare-panel">
      <form
        onSubmit={(event) => {
          event.preventDefault()
          if (!canSubmit || baselineId === undefined) return
          void evaluateCandidate({
            baselineId,
            candidateId: candidate.modelId,
            inputs: inputsKind === 'file' && inputsFile !== null ? { kind: 'file', file: inputsFile } : { kind: 'synthetic', synthetic: { count: sampleCount, seed } },
            labels: labelsFile ?? undefined,
            runs,
            minAgreement,
            maxAccuracyDrop,
          })
        }}
      >
        <div className="form-row">
          <label>
            Baseline
            <select data-testid="compare-baseline" value={baselineId ?? ''} disabled={others.length === 0} onChange={(event) => setChosenBaselineId(event.target.value)}>
              {others.length === 0 && <option value="">Import or optimize another model first</option>}
              {others.map((model) => (
                <option key={model.modelId} value={model.modelId}>
                  {model.name}@{model.version} ({formatBytes(model.sizeBytes)})
                </option>
              ))}
            </select>
          </label>
          <label>
            Candidate
            <select
              data-testid="compare-candidate"
              value={candidate.modelId}
              onChange={(event) => openPackagingTool({ kind: 'compare', candidateId: event.target.value, ...(baselineId === undefined ? {} : { baselineId }) })}
            >
              {models
                .filter((model) => model.format === 'onnx')
                .map((model) => (
                  <option key={model.modelId} value={model.modelId}>
                    {model.name}@{model.version}
                  </option>
                ))}
            </select>
          </label>
        </div>
        <fieldset className="calibration">
          <legend>Inputs</legend>
          <label className="inline">
            <input type="radio" name="inputs-kind" data-testid="compare-inputs-synthetic" checked={inputsKind === 'synthetic'} onChange={() => setInputsKind('synthetic')} />{' '}
            Synthetic inputs from the model's input shapes
          </label>
          {inputsKind === 'synthetic' && (
            <div className="form-row">
              <label>
                Samples
                <input type="number" data-testid="compare-synthetic-count" min={1} max={10_000} value={sampleCount} onChange={(event) => setSampleCount(Number(event.target.value))} />
              </label>
              <label>
                Seed
                <input type="number" data-testid="compare-synthetic-seed" min={0} value={seed} onChange={(event) => setSeed(Number(event.target.value))} />
              </label>
            </div>
          )}
          <label className="inline">
            <input type="radio" name="inputs-kind" data-testid="compare-inputs-upload" checked={inputsKind === 'file'} onChange={() => setInputsKind('file')} /> Inputs
            from a .npz or .npy file
          </label>
          {inputsKind === 'file' && <FilePick testId="compare-inputs-file" file={inputsFile} onFile={setInputsFile} label="Choose inputs…" />}
          <div>
            <FilePick testId="compare-labels-file" file={labelsFile} onFile={setLabelsFile} label="Labels (.npy, optional)…" />
            {labelsFile !== null && (
              <button type="button" onClick={() => setLabelsFile(null)}>
                Remove labels
              </button>
            )}
          </div>
        </fieldset>
        <div className="form-row">
          <label>
            Min. top-1 agreement (%)
            <input type="text" inputMode="decimal" data-testid="compare-min-agreement" value={minAgreementText} onChange={(event) => setMinAgreementText(event.target.value)} />
          </label>
          <label>
            Max. accuracy drop (points)
            <input type="text" inputMode="decimal" data-testid="compare-max-accuracy-drop" placeholder="needs labels" value={maxDropText} onChange={(event) => setMaxDropText(event.target.value)} />
          </label>
          <label>
            Timed runs
            <input type="number" data-testid="compare-runs" min={1} max={1000} value={runs} onChange={(event) => setRuns(Number(event.target.value))} />
          </label>
          <button type="submit" className="primary" data-testid="compare-submit" disabled={!canSubmit}>
            {isRunning ? 'Evaluating…' : 'Evaluate'}
          </button>
        </div>
        {!areFieldsValid && <p className="muted">Thresholds are percentages from 0 to 100; runs from 1 to 1000.</p>}
      </form>
      {isThisCandidate && evaluation.status === 'running' && <OperationProgressBar progress={evaluation.progress} testId="compare-progress" label="Evaluation in progress" />}
      {isThisCandidate && evaluation.status === 'failed' && <ErrorNotice error={evaluation.error} />}
      {isThisCandidate && evaluation.status === 'done' && <EvaluationView evaluation={evaluation.result} models={models} />}
    </div>
  )
}

function FilePick({ testId, file, onFile, label }: { testId: string; file: ModelFile | null; onFile: (file: ModelFile) => void; label: string }) {
  return (
    <label className="file-button">
      <span>{file === null ? label : `${file.name} (${formatBytes(file.size)})`}</span>
      <input
        type="file"
        accept=".npz,.npy"
        data-testid={testId}
        onChange={(event) => {
          const picked = event.target.files?.[0]
          event.target.value = ''
          if (picked) onFile(picked)
        }}
      />
    </label>
  )
}

function EvaluationView({ evaluation, models }: { evaluation: ModelEvaluation; models: ModelSummary[] }) {
  const { result, readiness } = evaluation
  const nameOf = (modelId: string) => {
    const model = models.find((candidate) => candidate.modelId === modelId)
    return model === undefined ? modelId : `${model.name}@${model.version}`
  }
  const [outputName, setOutputName] = useState(result.outputs[0]?.name ?? '')
  const output = result.outputs.find((candidate) => candidate.name === outputName) ?? result.outputs[0]
  const distribution = latencyDistributionRows(result.baseline.latency.samplesMs, result.candidate.latency.samplesMs)
  return (
    <section className="compare-result" data-testid="compare-result" aria-label="Evaluation result">
      <ReleaseReadyBadge readiness={readiness} />
      <dl className="facts">
        <dt>Compared</dt>
        <dd>
          {nameOf(evaluation.candidateId)} against {nameOf(evaluation.baselineId)} on {result.sampleCount} samples ({evaluation.inputs.source === 'synthetic' ? `synthetic, seed ${evaluation.inputs.seed ?? 0}` : evaluation.inputs.name})
        </dd>
        <dt>Size</dt>
        <dd data-testid="compare-size">
          {formatBytes(result.baseline.sizeBytes)} → {formatBytes(result.candidate.sizeBytes)} ({formatRatio(result.sizeRatio)})
        </dd>
        <dt>Latency p50 / p95</dt>
        <dd data-testid="compare-latency">
          {formatMs(result.baseline.latency.p50Ms)} / {formatMs(result.baseline.latency.p95Ms)} → {formatMs(result.candidate.latency.p50Ms)} / {formatMs(result.candidate.latency.p95Ms)} (p50{' '}
          {formatRatio(result.latencyP50Ratio)})
        </dd>
        <dt>Top-1 agreement</dt>
        <dd data-testid="compare-agreement">{formatFraction(result.top1Agreement)}</dd>
        <dt>Accuracy</dt>
        <dd data-testid="compare-accuracy">
          {result.accuracy === null
            ? 'no labels given'
            : `${formatFraction(result.accuracy.baseline)} → ${formatFraction(result.accuracy.candidate)} (drop ${(result.accuracy.drop * 100).toFixed(2)} points over ${result.accuracy.labelCount} labels)`}
        </dd>
      </dl>
      <div className="chart-grid">
        <figure className="chart" data-testid="chart-size">
          <figcaption>Size (KiB)</figcaption>
          <BarChart width={CHART_WIDTH} height={CHART_HEIGHT} data={sizeRows(result)}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="model" />
            <YAxis />
            <Tooltip formatter={(value) => `${Number(value).toFixed(1)} KiB`} />
            <Bar dataKey="sizeKiB" name="size" fill={CHART_COLORS.candidate} isAnimationActive={false} />
          </BarChart>
        </figure>
        <figure className="chart" data-testid="chart-latency">
          <figcaption>Latency p50 / p95 (ms)</figcaption>
          <BarChart width={CHART_WIDTH} height={CHART_HEIGHT} data={latencyQuantileRows(result)}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="model" />
            <YAxis />
            <Tooltip formatter={(value) => `${Number(value).toFixed(3)} ms`} />
            <Legend />
            <Bar dataKey="p50Ms" name="p50" fill={CHART_COLORS.candidate} isAnimationActive={false} />
            <Bar dataKey="p95Ms" name="p95" fill={CHART_COLORS.secondary} isAnimationActive={false} />
          </BarChart>
        </figure>
        <figure className="chart" data-testid="chart-latency-distribution">
          <figcaption>Latency distribution ({result.baseline.latency.runs} timed runs each)</figcaption>
          <BarChart width={CHART_WIDTH} height={CHART_HEIGHT} data={distribution}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" tick={false} />
            <YAxis allowDecimals={false} />
            <Tooltip />
            <Legend />
            <Bar dataKey="baseline" name="baseline" fill={CHART_COLORS.baseline} isAnimationActive={false} />
            <Bar dataKey="candidate" name="candidate" fill={CHART_COLORS.candidate} isAnimationActive={false} />
          </BarChart>
        </figure>
        {output !== undefined && (
          <figure className="chart" data-testid="chart-errors">
            <figcaption>
              Absolute error of{' '}
              {result.outputs.length > 1 ? (
                <select aria-label="Output" value={output.name} onChange={(event) => setOutputName(event.target.value)}>
                  {result.outputs.map((candidate) => (
                    <option key={candidate.name} value={candidate.name}>
                      {candidate.name}
                    </option>
                  ))}
                </select>
              ) : (
                <code>{output.name}</code>
              )}{' '}
              (elements per bin)
            </figcaption>
            <BarChart width={CHART_WIDTH} height={CHART_HEIGHT} data={errorHistogramRows(output.errorHistogram)}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="label" interval="preserveStartEnd" />
              <YAxis allowDecimals={false} />
              <Tooltip />
              <Bar dataKey="count" name="elements" fill={CHART_COLORS.secondary} isAnimationActive={false} />
            </BarChart>
          </figure>
        )}
      </div>
      <table className="table compact" data-testid="compare-outputs">
        <thead>
          <tr>
            <th scope="col">Output</th>
            <th scope="col">Max abs error</th>
            <th scope="col">Mean abs error</th>
            <th scope="col">Cosine</th>
            <th scope="col">Agreement</th>
          </tr>
        </thead>
        <tbody>
          {result.outputs.map((row) => (
            <tr key={row.name}>
              <td>
                <code>{row.name}</code>
              </td>
              <td className="numeric">{formatError(row.maxAbsError)}</td>
              <td className="numeric">{formatError(row.meanAbsError)}</td>
              <td className="numeric">{row.cosineSimilarity.toFixed(6)}</td>
              <td className="numeric">{row.agreement === null ? '—' : `${formatFraction(row.agreement)} (${row.decisionKind})`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

/**
 * Runs a baseline and a candidate model on the same inputs in onnxruntime and compares them: sizes, latency
 * (p50/p95 over timed runs after warm-up, the two models interleaved so drift hits both alike), per-output errors,
 * decision agreement and, with labels, accuracy. Metrics are streamed per run (core/evaluation/compareOutputs.ts).
 */
import { performance } from 'node:perf_hooks'
import * as ort from 'onnxruntime-node'
import type { EvaluationResult, PackagingProgress } from '../../../src-shared/domain/evaluation.ts'
import { AppError } from '../../../src-shared/errors.ts'
import {
  type OutputComparisonState,
  accumulateOutputComparison,
  compareAccuracy,
  createOutputComparison,
  finishOutputComparison,
} from '../../core/evaluation/compareOutputs.ts'
import { ratio, summarizeLatency } from '../../core/evaluation/latency.ts'
import { type NdArray, toFloat64 } from '../numpy/npy.ts'
import { feedsForRun, planFeeds, sessionInputSpecs, tensorValues } from './feeds.ts'

export interface EvaluateModelsOptions {
  inputs: ReadonlyMap<string, NdArray>
  /** Integer class labels (or 0/1 for threshold outputs), one per decision of the primary output. */
  labels?: NdArray
  /** Rows per run when the first axis is dynamic. Default 32. */
  batchSize?: number
  /** Untimed runs per model before timing. Default 3. */
  warmupRuns?: number
  /** Timed runs per model. Default 20. */
  timedRuns?: number
  /** onnxruntime intra-op threads; default onnxruntime's choice. */
  intraOpThreads?: number
  source?: string
  onProgress?: (progress: PackagingProgress) => void
}

async function createSession(bytes: Uint8Array, role: string, threads: number | undefined): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], ...(threads === undefined ? {} : { intraOpNumThreads: threads }) })
  } catch (error) {
    throw new AppError('model-load-failed', `onnxruntime could not load the ${role} model: ${error instanceof Error ? error.message : String(error)}`, { role })
  }
}

async function run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, role: string): Promise<ort.InferenceSession.ReturnType> {
  try {
    return await session.run(feeds)
  } catch (error) {
    throw new AppError('inference-failed', `The ${role} model failed to run: ${error instanceof Error ? error.message : String(error)}`, { role })
  }
}

export async function evaluateModels(baselineBytes: Uint8Array, candidateBytes: Uint8Array, options: EvaluateModelsOptions): Promise<EvaluationResult> {
  const baseline = await createSession(baselineBytes, 'baseline', options.intraOpThreads)
  let candidate: ort.InferenceSession | undefined
  try {
    candidate = await createSession(candidateBytes, 'candidate', options.intraOpThreads)
    const source = options.source ?? 'The inputs file'
    const specs = sessionInputSpecs(baseline)
    const plan = planFeeds(baseline, options.inputs, { batchSize: options.batchSize ?? 32, source })
    if (plan.runs.length === 0) throw new AppError('invalid-input', `${source} holds no samples.`)
    const candidateInputs = new Set(candidate.inputNames)
    const missingInput = specs.find((spec) => !candidateInputs.has(spec.name))
    if (missingInput !== undefined) {
      throw new AppError('invalid-input', `The candidate model has no input '${missingInput.name}', so it cannot be compared with the baseline.`, { input: missingInput.name })
    }
    const outputNames = baseline.outputNames.filter((name) => candidate?.outputNames.includes(name))
    if (outputNames.length === 0) throw new AppError('invalid-input', 'The candidate model shares no output name with the baseline, so nothing can be compared.')
    const comparisons = new Map<string, OutputComparisonState>(outputNames.map((name) => [name, createOutputComparison(name)]))
    for (const [index, slices] of plan.runs.entries()) {
      const feeds = feedsForRun(slices, options.inputs, specs)
      const expected = await run(baseline, feeds, 'baseline')
      const actual = await run(candidate, feeds, 'candidate')
      for (const name of outputNames) {
        const a = expected[name]
        const b = actual[name]
        if (a === undefined || b === undefined) continue
        if (a.dims.join(',') !== b.dims.join(',')) {
          throw new AppError('invalid-input', `The output '${name}' has shape [${b.dims.join(', ')}] in the candidate but [${a.dims.join(', ')}] in the baseline.`, {
            output: name,
          })
        }
        accumulateOutputComparison(comparisons.get(name) as OutputComparisonState, tensorValues(a, name), tensorValues(b, name), a.dims)
      }
      options.onProgress?.({ phase: 'evaluation', completed: index + 1, total: plan.runs.length })
    }
    const outputs = outputNames.map((name) => finishOutputComparison(comparisons.get(name) as OutputComparisonState))
    const primary = outputs.find((output) => output.decisionKind !== 'none')
    let accuracy: EvaluationResult['accuracy'] = null
    if (options.labels !== undefined) {
      if (primary === undefined) throw new AppError('invalid-input', 'Labels were given but no output makes class or threshold decisions to compare them with.')
      const labels = toFloat64(options.labels)
      if (labels.length !== primary.decisionCount) {
        throw new AppError(
          'invalid-input',
          `The labels file has ${labels.length} labels but the output '${primary.name}' made ${primary.decisionCount} decisions; give one label per input row.`,
          { labelCount: labels.length, decisionCount: primary.decisionCount },
        )
      }
      accuracy = compareAccuracy(comparisons.get(primary.name) as OutputComparisonState, labels) ?? null
    }
    const latency = await measureLatency(baseline, candidate, feedsForRun(plan.runs[0] ?? [], options.inputs, specs), options)
    return {
      sampleCount: primary?.decisionCount ?? plan.runs.length,
      baseline: { sizeBytes: baselineBytes.length, latency: latency.baseline },
      candidate: { sizeBytes: candidateBytes.length, latency: latency.candidate },
      sizeRatio: ratio(candidateBytes.length, baselineBytes.length),
      latencyP50Ratio: ratio(latency.candidate.p50Ms, latency.baseline.p50Ms),
      outputs,
      top1Agreement: primary?.agreement ?? null,
      accuracy,
    }
  } finally {
    await baseline.release()
    await candidate?.release()
  }
}

async function measureLatency(
  baseline: ort.InferenceSession,
  candidate: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  options: EvaluateModelsOptions,
): Promise<{ baseline: ReturnType<typeof summarizeLatency>; candidate: ReturnType<typeof summarizeLatency> }> {
  const warmupRuns = options.warmupRuns ?? 3
  const timedRuns = options.timedRuns ?? 20
  for (let index = 0; index < warmupRuns; index++) {
    await run(baseline, feeds, 'baseline')
    await run(candidate, feeds, 'candidate')
  }
  const baselineMs: number[] = []
  const candidateMs: number[] = []
  for (let index = 0; index < timedRuns; index++) {
    // Alternate which model goes first so neither always runs on a warmer cache.
    const order: Array<[ort.InferenceSession, number[], string]> =
      index % 2 === 0
        ? [
            [baseline, baselineMs, 'baseline'],
            [candidate, candidateMs, 'candidate'],
          ]
        : [
            [candidate, candidateMs, 'candidate'],
            [baseline, baselineMs, 'baseline'],
          ]
    for (const [session, durations, role] of order) {
      const started = performance.now()
      await run(session, feeds, role)
      durations.push(performance.now() - started)
    }
    options.onProgress?.({ phase: 'latency', completed: index + 1, total: timedRuns })
  }
  return { baseline: summarizeLatency(baselineMs), candidate: summarizeLatency(candidateMs) }
}

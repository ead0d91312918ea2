/**
 * Streaming comparison of one output of two models run on the same inputs: absolute errors, cosine similarity
 * (whole output and per row), decisions (argmax / threshold) and their agreement, an error histogram for the UI,
 * and accuracy against labels. Batches are folded in one at a time so nothing but per-row decisions is kept. Pure.
 */
import { assert } from '../../../src-shared/errors.ts'
import type { AccuracyComparison, DecisionKind, ErrorHistogramBin, OutputComparison } from '../../../src-shared/domain/evaluation.ts'

/** Half-decade edges from 1e-8 to 10: quantization errors span many orders of magnitude. */
export const ERROR_HISTOGRAM_EDGES: readonly number[] = Array.from({ length: 19 }, (_, index) => 10 ** (-8 + index / 2))
export const DECISION_THRESHOLD = 0.5

export interface OutputComparisonState {
  name: string
  elementCount: number
  nonFiniteCount: number
  maxAbsError: number
  sumAbsError: number
  dot: number
  baselineNormSquared: number
  candidateNormSquared: number
  rowCosineSum: number
  rowCount: number
  minRowCosine: number
  baselineMin: number
  baselineMax: number
  decisionKind: DecisionKind | undefined
  baselineDecisions: number[]
  candidateDecisions: number[]
  histogram: number[]
}

export function createOutputComparison(name: string): OutputComparisonState {
  return {
    name,
    elementCount: 0,
    nonFiniteCount: 0,
    maxAbsError: 0,
    sumAbsError: 0,
    dot: 0,
    baselineNormSquared: 0,
    candidateNormSquared: 0,
    rowCosineSum: 0,
    rowCount: 0,
    minRowCosine: 1,
    baselineMin: Infinity,
    baselineMax: -Infinity,
    decisionKind: undefined,
    baselineDecisions: [],
    candidateDecisions: [],
    histogram: new Array<number>(ERROR_HISTOGRAM_EDGES.length + 1).fill(0),
  }
}

export function decisionKindFor(dims: readonly number[]): DecisionKind {
  const last = dims[dims.length - 1]
  if (dims.length === 0 || last === undefined) return 'none'
  if (last >= 2) return 'argmax'
  return last === 1 ? 'threshold' : 'none'
}

/** Cosine of two vectors; two zero vectors are identical (1), one zero vector is orthogonal (0). */
export function cosine(dot: number, normSquaredA: number, normSquaredB: number): number {
  if (normSquaredA === 0 && normSquaredB === 0) return 1
  if (normSquaredA === 0 || normSquaredB === 0) return 0
  return Math.max(-1, Math.min(1, dot / Math.sqrt(normSquaredA * normSquaredB)))
}

function histogramBin(error: number): number {
  // Binary search over the sorted edges: bin i holds [edge[i-1], edge[i]).
  let low = 0
  let high = ERROR_HISTOGRAM_EDGES.length
  while (low < high) {
    const middle = (low + high) >> 1
    if (error < (ERROR_HISTOGRAM_EDGES[middle] ?? Infinity)) high = middle
    else low = middle + 1
  }
  return low
}

function argmax(values: ArrayLike<number>, start: number, length: number): number {
  let best = 0
  let bestValue = -Infinity
  for (let index = 0; index < length; index++) {
    const value = values[start + index] ?? -Infinity
    if (value > bestValue) {
      bestValue = value
      best = index
    }
  }
  return best
}

/** Folds one batch of one output (same shape from both models) into the comparison (mutates, returns it). */
export function accumulateOutputComparison(
  state: OutputComparisonState,
  baseline: ArrayLike<number>,
  candidate: ArrayLike<number>,
  dims: readonly number[],
): OutputComparisonState {
  assert(baseline.length === candidate.length, `output ${state.name}: baseline has ${baseline.length} values, candidate ${candidate.length}`)
  const kind = decisionKindFor(dims)
  state.decisionKind ??= kind
  const rows = dims.length === 0 ? 1 : (dims[0] ?? 1)
  const rowLength = rows === 0 ? 0 : baseline.length / rows
  for (let row = 0; row < rows; row++) {
    let dot = 0
    let baselineNorm = 0
    let candidateNorm = 0
    const start = row * rowLength
    for (let index = start; index < start + rowLength; index++) {
      const a = baseline[index] ?? 0
      const b = candidate[index] ?? 0
      // NaN or infinity in either output is counted apart: one would poison every aggregate (and JSON).
      if (!Number.isFinite(a) || !Number.isFinite(b)) {
        state.nonFiniteCount++
        continue
      }
      const error = Math.abs(a - b)
      if (error > state.maxAbsError) state.maxAbsError = error
      state.sumAbsError += error
      const bin = histogramBin(error)
      state.histogram[bin] = (state.histogram[bin] ?? 0) + 1
      dot += a * b
      baselineNorm += a * a
      candidateNorm += b * b
      if (a < state.baselineMin) state.baselineMin = a
      if (a > state.baselineMax) state.baselineMax = a
    }
    state.dot += dot
    state.baselineNormSquared += baselineNorm
    state.candidateNormSquared += candidateNorm
    const rowCosine = cosine(dot, baselineNorm, candidateNorm)
    state.rowCosineSum += rowCosine
    state.minRowCosine = Math.min(state.minRowCosine, rowCosine)
    state.rowCount++
  }
  state.elementCount += baseline.length
  if (state.decisionKind === 'argmax') {
    const classes = dims[dims.length - 1] ?? 1
    for (let start = 0; start < baseline.length; start += classes) {
      state.baselineDecisions.push(argmax(baseline, start, classes))
      state.candidateDecisions.push(argmax(candidate, start, classes))
    }
  } else if (state.decisionKind === 'threshold') {
    for (let index = 0; index < baseline.length; index++) {
      state.baselineDecisions.push((baseline[index] ?? 0) >= DECISION_THRESHOLD ? 1 : 0)
      state.candidateDecisions.push((candidate[index] ?? 0) >= DECISION_THRESHOLD ? 1 : 0)
    }
  }
  return state
}

export function agreementOf(first: readonly number[], second: readonly number[]): number | null {
  if (first.length === 0) return null
  let same = 0
  for (let index = 0; index < first.length; index++) if (first[index] === second[index]) same++
  return same / first.length
}

export function finishOutputComparison(state: OutputComparisonState): OutputComparison {
  const decisionKind = state.decisionKind ?? 'none'
  const errorHistogram: ErrorHistogramBin[] = state.histogram.map((count, index) => ({
    lowerBound: index === 0 ? 0 : (ERROR_HISTOGRAM_EDGES[index - 1] ?? 0),
    upperBound: ERROR_HISTOGRAM_EDGES[index] ?? null,
    count,
  }))
  return {
    name: state.name,
    elementCount: state.elementCount,
    nonFiniteCount: state.nonFiniteCount,
    maxAbsError: state.maxAbsError,
    meanAbsError: state.elementCount === state.nonFiniteCount ? 0 : state.sumAbsError / (state.elementCount - state.nonFiniteCount),
    cosineSimilarity: cosine(state.dot, state.baselineNormSquared, state.candidateNormSquared),
    meanRowCosine: state.rowCount === 0 ? 1 : state.rowCosineSum / state.rowCount,
    minRowCosine: state.minRowCosine,
    baselineMin: Number.isFinite(state.baselineMin) ? state.baselineMin : 0,
    baselineMax: Number.isFinite(state.baselineMax) ? state.baselineMax : 0,
    decisionKind,
    agreement: decisionKind === 'none' ? null : agreementOf(state.baselineDecisions, state.candidateDecisions),
    decisionCount: state.baselineDecisions.length,
    errorHistogram,
  }
}

/**
 * Accuracy of both models' decisions against integer labels (one per decision). Returns undefined when the output
 * makes no decisions; the caller reports a label-count mismatch as bad input.
 */
export function compareAccuracy(state: OutputComparisonState, labels: ArrayLike<number>): AccuracyComparison | undefined {
  if (state.decisionKind === undefined || state.decisionKind === 'none') return undefined
  assert(labels.length === state.baselineDecisions.length, 'compareAccuracy needs one label per decision')
  let baselineCorrect = 0
  let candidateCorrect = 0
  for (let index = 0; index < labels.length; index++) {
    if (state.baselineDecisions[index] === labels[index]) baselineCorrect++
    if (state.candidateDecisions[index] === labels[index]) candidateCorrect++
  }
  const count = labels.length
  const baseline = count === 0 ? 0 : baselineCorrect / count
  const candidate = count === 0 ? 0 : candidateCorrect / count
  return { outputName: state.name, labelCount: count, baseline, candidate, drop: baseline - candidate }
}

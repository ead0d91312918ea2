/** The release verdict and headline figures a model card records after an evaluation. Pure. */
import type { CardEvaluation } from '../../../src-shared/contract/packagingContract.ts'
import type { EvaluationResult, ReleaseGate, ReleaseReadiness } from '../../../src-shared/domain/evaluation.ts'

/** The verdict and headline figures of an evaluation, as a card records them for the release step. */
export function cardEvaluationOf(input: {
  evaluatedAt: string
  baselineSha256: string
  inputsSha256: string
  gate: ReleaseGate
  result: EvaluationResult
  readiness: ReleaseReadiness
}): CardEvaluation {
  const { result } = input
  const errors = result.outputs.map((output) => output.maxAbsError)
  return {
    evaluatedAt: input.evaluatedAt,
    baselineSha256: input.baselineSha256,
    inputsSha256: input.inputsSha256,
    gate: input.gate,
    isReleaseReady: input.readiness.isReleaseReady,
    reasons: input.readiness.reasons,
    metrics: {
      sampleCount: result.sampleCount,
      top1Agreement: result.top1Agreement,
      accuracyBaseline: result.accuracy?.baseline ?? null,
      accuracyCandidate: result.accuracy?.candidate ?? null,
      accuracyDrop: result.accuracy?.drop ?? null,
      sizeRatio: result.sizeRatio,
      latencyP50Ratio: result.latencyP50Ratio,
      maxAbsError: errors.length === 0 ? null : Math.max(...errors),
    },
  }
}

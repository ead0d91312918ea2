/**
 * The release gate: decides from an evaluation whether a candidate may be released, with the reasons when not.
 * A threshold that cannot be measured (no classifier output, no labels) fails closed. Pure.
 */
import type { EvaluationResult, ReleaseGate, ReleaseReadiness } from '../../../src-shared/domain/evaluation.ts'

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`
}

function points(fraction: number): string {
  return `${(fraction * 100).toFixed(2)} points`
}

export function evaluateReleaseReadiness(result: EvaluationResult, gate: ReleaseGate): ReleaseReadiness {
  const reasons: string[] = []
  if (gate.minAgreement !== undefined) {
    if (result.top1Agreement === null) {
      reasons.push(`Agreement cannot be measured: no output makes class or threshold decisions, so the required ${percent(gate.minAgreement)} cannot be checked.`)
    } else if (result.top1Agreement < gate.minAgreement) {
      reasons.push(`Top-1 agreement with the baseline is ${percent(result.top1Agreement)}, below the required ${percent(gate.minAgreement)}.`)
    }
  }
  if (gate.maxAccuracyDrop !== undefined) {
    if (result.accuracy === null) {
      reasons.push(`Accuracy cannot be measured without labels, so the allowed drop of ${points(gate.maxAccuracyDrop)} cannot be checked.`)
    } else if (result.accuracy.drop > gate.maxAccuracyDrop) {
      reasons.push(
        `Accuracy drops from ${percent(result.accuracy.baseline)} to ${percent(result.accuracy.candidate)} (${points(result.accuracy.drop)}), more than the allowed ${points(gate.maxAccuracyDrop)}.`,
      )
    }
  }
  return { isReleaseReady: reasons.length === 0, reasons }
}

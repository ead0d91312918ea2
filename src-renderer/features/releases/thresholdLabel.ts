import type { ReleaseSignatures } from '../../../src-shared/contract/releasesContract.ts'

export interface ThresholdLabel {
  text: string
  tone: 'met' | 'pending' | 'unknown'
  /** For screen readers and the tooltip. */
  description: string
}

/** "2 of 2" when the release threshold is met, "1 of 2" (pending) when not, "unchecked" without a trust root. */
export function thresholdLabel(signatures: ReleaseSignatures): ThresholdLabel {
  if (signatures.threshold === null || signatures.validCount === null) {
    return { text: 'unchecked', tone: 'unknown', description: 'No trust root on this control center to check the signatures against' }
  }
  const text = `${signatures.validCount} of ${signatures.threshold}`
  const keys = signatures.roleKeyCount === null ? '' : ` (${signatures.roleKeyCount} release keys)`
  return signatures.isThresholdMet
    ? { text, tone: 'met', description: `Threshold met: ${text} release signatures${keys}` }
    : { text, tone: 'pending', description: `Pending: ${text} release signatures${keys}; devices refuse it until the threshold is met` }
}

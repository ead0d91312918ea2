/** Decides what the agent does with a parsed directive (anchors-security.md §10.6 step 3, without signatures yet). Pure. */
import type { Directive } from '../../../src-shared/protocol/messages.ts'

export interface DirectiveContext {
  selfDeviceId: string
  /** Highest directive sequence already accepted and persisted. */
  lastDirectiveSeq: number
  /** SHA-256 of the committed, running model; null when none. */
  activeSha256: string | null
}

export type DirectiveDecision =
  | { verdict: 'reject'; reason: 'wrong-device' | 'stale-seq' }
  | { verdict: 'accept'; action: 'noop' }
  | { verdict: 'accept'; action: 'already-active' }
  | { verdict: 'accept'; action: 'install' }

export function decideDirective(context: DirectiveContext, directive: Directive): DirectiveDecision {
  if (directive.deviceId !== context.selfDeviceId) return { verdict: 'reject', reason: 'wrong-device' }
  // Replays and re-deliveries (the control center answers every sync with its current directive) carry old seqs.
  if (directive.seq <= context.lastDirectiveSeq) return { verdict: 'reject', reason: 'stale-seq' }
  if (directive.action === 'noop') return { verdict: 'accept', action: 'noop' }
  if (directive.artifact.sha256 === context.activeSha256) return { verdict: 'accept', action: 'already-active' }
  return { verdict: 'accept', action: 'install' }
}

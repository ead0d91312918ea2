/**
 * Decides whether the agent acts on a parsed directive at all (anchors-security.md §10.6 step 3, without signatures
 * yet). What an accepted install becomes is installMachine.acceptInstall's decision. Pure.
 */
import type { Directive } from '../../../src-shared/protocol/messages.ts'

export interface DirectiveContext {
  selfDeviceId: string
  /** Highest directive sequence already accepted and persisted. */
  lastDirectiveSeq: number
}

export type DirectiveDecision =
  | { verdict: 'reject'; reason: 'wrong-device' | 'stale-seq' }
  | { verdict: 'accept'; action: 'noop' }
  | { verdict: 'accept'; action: 'install' }

export function decideDirective(context: DirectiveContext, directive: Directive): DirectiveDecision {
  if (directive.deviceId !== context.selfDeviceId) return { verdict: 'reject', reason: 'wrong-device' }
  // Replays and re-deliveries (the control center answers every sync with its current directive) carry old seqs.
  if (directive.seq <= context.lastDirectiveSeq) return { verdict: 'reject', reason: 'stale-seq' }
  return { verdict: 'accept', action: directive.action }
}

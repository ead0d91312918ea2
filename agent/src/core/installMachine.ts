/**
 * The agent's A/B install state machine (anchors-security.md §10.8, modeled on Mender's state store). Pure: a
 * record and an event give the next record and the effects to carry out. The runtime persists every record before
 * it acts on it, so a restart finds the last state that was durable and `recoverInstall` says how to go on.
 *
 * Forward path:  accepted → downloading → verified → staged → switching → trial(n) → committing → committed
 * Failure path:  rolling-back → rolled-back → failure-reported → cleanup → idle
 * A failure before the switch needs no rollback (the active pointer is untouched): it ends in 'failed'.
 */
import type { InstallState } from '../../../src-shared/domain/device.ts'
import type { Directive } from '../../../src-shared/protocol/messages.ts'

export type InstallDirective = Extract<Directive, { action: 'install' }>
export type Slot = 'a' | 'b'

export const INSTALL_PHASES = [
  'idle',
  'accepted',
  'downloading',
  'verified',
  'staged',
  'switching',
  'trial',
  'committing',
  'committed',
  'rolling-back',
  'rolled-back',
  'failure-reported',
  'cleanup',
  'failed',
] as const
export type InstallPhase = (typeof INSTALL_PHASES)[number]

/** Trial attempts before the agent gives up on a new model (Mender/U-Boot `bootlimit`). */
export const MAX_TRIAL_ATTEMPTS = 3
/** Transitions one install may take before it is forced to roll back (Mender `kMaxStateDataStoreCount`). */
export const MAX_TRANSITIONS = 28

/** Reason codes of the failure branch, reported as `errorCode`. */
export const ROLLBACK_REASONS = {
  stateLoop: 'state-loop',
  trialLimit: 'trial-limit',
  commitInterrupted: 'commit-interrupted',
  superseded: 'superseded',
} as const

/** One install, exactly as persisted in state.json. */
export interface InstallRecord {
  directive: InstallDirective
  state: InstallPhase
  /** The slot the new model goes to: never the one holding the last committed model. */
  targetSlot: Slot
  /** Trial attempts so far (n of TRIAL(n)); 0 before the first. */
  trialCount: number
  /** Transitions of this install, restarts included. */
  transitions: number
  errorCode: string | null
  message: string | null
}

export type InstallEffect =
  /** Publish an install report in this wire state. */
  | { type: 'report'; state: InstallState; progress: number }
  /** Remember the artifact as bad: no later directive installs it unless it says `retry`. */
  | { type: 'mark-bad'; sha256: string }
  | { type: 'clear-bad'; sha256: string }
  /** Remove the artifact's staging files. */
  | { type: 'discard-staging'; sha256: string }

export type InstallEvent =
  /** The work of the current state finished; move on along its path. */
  | { type: 'done' }
  | { type: 'failed'; code: string; message: string }
  /** A newer directive replaces this install. */
  | { type: 'superseded' }

export interface Transition {
  record: InstallRecord
  effects: InstallEffect[]
}

/** What a restart reads from disk before deciding (§10.8 table). */
export interface RestartFacts {
  /** The slot the active pointer names; null when there is none. */
  activeSlot: Slot | null
  /** The artifact the commit record names; null when there is none. */
  committedSha256: string | null
}

const FORWARD: readonly InstallPhase[] = ['accepted', 'downloading', 'verified', 'staged', 'switching', 'trial', 'committing', 'committed']
const FAILURE: readonly InstallPhase[] = ['rolling-back', 'rolled-back', 'failure-reported', 'cleanup', 'idle']
/** Before the switch the active pointer is untouched: failures need no rollback. */
const BEFORE_SWITCH: readonly InstallPhase[] = ['accepted', 'downloading', 'verified', 'staged']
/** After the switch the active pointer may name the new slot: failures roll back. */
const AFTER_SWITCH: readonly InstallPhase[] = ['switching', 'trial', 'committing']
const SETTLED: readonly InstallPhase[] = ['idle', 'committed', 'failed']

/** States with nothing left to do: a restart leaves them alone and a new directive may start at once. */
export function isSettled(phase: InstallPhase): boolean {
  return SETTLED.includes(phase)
}

/** States in which the active pointer may name a model that was never committed. */
export function mayServeUncommitted(phase: InstallPhase): boolean {
  return AFTER_SWITCH.includes(phase) || phase === 'rolling-back'
}

export const otherSlot = (slot: Slot): Slot => (slot === 'a' ? 'b' : 'a')

/** The state the control center sees. The failure path's bookkeeping states all read as 'rolled-back'. */
export function wireState(record: InstallRecord | null): InstallState {
  if (record === null) return 'idle'
  switch (record.state) {
    case 'committing':
      return 'trial'
    case 'failure-reported':
    case 'cleanup':
    case 'idle':
      return 'rolled-back'
    default:
      return record.state
  }
}

/** Progress a report in this state carries: the step is complete (1) or about to start (0). */
function progressOf(phase: InstallPhase): number {
  return phase === 'verified' || phase === 'staged' || phase === 'switching' || phase === 'committed' ? 1 : 0
}

function report(record: InstallRecord): InstallEffect {
  return { type: 'report', state: wireState(record), progress: progressOf(record.state) }
}

function next(record: InstallRecord, state: InstallPhase): InstallRecord {
  return { ...record, state, transitions: record.transitions + 1 }
}

function failForward(record: InstallRecord, code: string, message: string): Transition {
  const failed = { ...next(record, 'failed'), errorCode: code, message }
  const effects: InstallEffect[] = [report(failed)]
  // A corrupt download must not be resumed; a transfer that merely stalled may be, by a later directive.
  if (code === 'artifact-corrupt') effects.push({ type: 'discard-staging', sha256: record.directive.artifact.sha256 })
  return { record: failed, effects }
}

/** `isCounted`: the transition was already counted (the loop guard replaces a transition's target). */
function rollBack(record: InstallRecord, code: string, message: string, isCounted = false): Transition {
  const moved = isCounted ? { ...record, state: 'rolling-back' as const } : next(record, 'rolling-back')
  const rollingBack = { ...moved, errorCode: code, message }
  const effects: InstallEffect[] = [report(rollingBack)]
  // Superseded is not the release's fault; every other reason is (anchors-security.md §10.9: mark bad_release).
  if (code !== ROLLBACK_REASONS.superseded) effects.push({ type: 'mark-bad', sha256: record.directive.artifact.sha256 })
  return { record: rollingBack, effects }
}

/** After `MAX_TRANSITIONS`, a forward state is forced onto the failure path (§10.8 last row). */
function guardLoop(transition: Transition): Transition {
  const { record } = transition
  if (record.transitions <= MAX_TRANSITIONS || !FORWARD.includes(record.state) || isSettled(record.state)) return transition
  return rollBack(record, ROLLBACK_REASONS.stateLoop, `The install took more than ${MAX_TRANSITIONS} transitions (crash or restart loop)`, true)
}

function advance(record: InstallRecord): Transition {
  const forwardIndex = FORWARD.indexOf(record.state)
  if (forwardIndex >= 0 && forwardIndex < FORWARD.length - 1) {
    const target = FORWARD[forwardIndex + 1] ?? 'committed'
    const moved = next(record, target)
    const advanced = target === 'trial' ? { ...moved, trialCount: 1 } : moved
    return target === 'committing' ? { record: advanced, effects: [] } : { record: advanced, effects: [report(advanced)] }
  }
  const failureIndex = FAILURE.indexOf(record.state)
  if (failureIndex >= 0 && failureIndex < FAILURE.length - 1) {
    const target = FAILURE[failureIndex + 1] ?? 'idle'
    const moved = next(record, target)
    if (target === 'rolled-back') return { record: moved, effects: [report(moved)] }
    if (target === 'idle') return { record: moved, effects: [{ type: 'discard-staging', sha256: record.directive.artifact.sha256 }] }
    return { record: moved, effects: [] }
  }
  return { record, effects: [] }
}

/** Applies one event. Settled records ignore every event. */
export function stepInstall(record: InstallRecord, event: InstallEvent): Transition {
  if (isSettled(record.state)) return { record, effects: [] }
  switch (event.type) {
    case 'done':
      return guardLoop(advance(record))
    case 'failed':
      if (BEFORE_SWITCH.includes(record.state)) return failForward(record, event.code, event.message)
      if (AFTER_SWITCH.includes(record.state)) return rollBack(record, event.code, event.message)
      // The failure path only restores and reports; a failing step there still moves on, keeping the first reason.
      return advance(record)
    case 'superseded':
      if (BEFORE_SWITCH.includes(record.state)) {
        return { record: { ...next(record, 'failed'), errorCode: ROLLBACK_REASONS.superseded, message: 'A newer directive replaced this install' }, effects: [] }
      }
      if (AFTER_SWITCH.includes(record.state)) return rollBack(record, ROLLBACK_REASONS.superseded, 'A newer directive replaced this install')
      return { record, effects: [] }
  }
}

export interface AcceptanceContext {
  /** The last committed model, if any. */
  committed: { sha256: string; slot: Slot } | null
  /** Artifacts this device marked bad after a failed trial. */
  badReleases: readonly string[]
}

/** Turns a newly accepted install directive into a record (the idle → accepted edge, or an immediate outcome). */
export function acceptInstall(directive: InstallDirective, context: AcceptanceContext): Transition {
  const sha256 = directive.artifact.sha256
  const base: InstallRecord = {
    directive,
    state: 'accepted',
    targetSlot: context.committed === null ? 'a' : otherSlot(context.committed.slot),
    trialCount: 0,
    transitions: 1,
    errorCode: null,
    message: null,
  }
  if (context.committed?.sha256 === sha256) {
    const committed: InstallRecord = { ...base, state: 'committed', targetSlot: context.committed.slot }
    return { record: committed, effects: [report(committed)] }
  }
  const isBad = context.badReleases.includes(sha256)
  if (isBad && directive.retry !== true) {
    const failed: InstallRecord = {
      ...base,
      state: 'failed',
      errorCode: 'release-marked-bad',
      message: 'This device rolled this model back before; deploy it with retry to try again',
    }
    return { record: failed, effects: [report(failed)] }
  }
  const effects: InstallEffect[] = isBad ? [{ type: 'clear-bad', sha256 }] : []
  return { record: base, effects: [...effects, report(base)] }
}

/**
 * What a restart does with the persisted record (§10.8 table). Counts the restart as a transition; the caller
 * persists the result before doing anything else.
 */
export function recoverInstall(record: InstallRecord, facts: RestartFacts): Transition {
  if (isSettled(record.state)) return { record, effects: [] }
  const restarted: InstallRecord = { ...record, transitions: record.transitions + 1 }
  const enterTrial = (attempt: number): Transition => {
    if (attempt > MAX_TRIAL_ATTEMPTS) {
      return rollBack({ ...restarted, trialCount: attempt }, ROLLBACK_REASONS.trialLimit, `The new model failed to pass its trial in ${MAX_TRIAL_ATTEMPTS} attempts`, true)
    }
    const trial: InstallRecord = { ...restarted, state: 'trial', trialCount: attempt }
    return { record: trial, effects: [report(trial)] }
  }
  let transition: Transition
  switch (record.state) {
    case 'switching':
      // The pointer is the single durable switch: if it names the new slot, the switch happened.
      transition = facts.activeSlot === record.targetSlot ? enterTrial(record.trialCount + 1) : { record: restarted, effects: [] }
      break
    case 'trial':
      transition = enterTrial(record.trialCount + 1)
      break
    case 'committing':
      if (facts.committedSha256 === record.directive.artifact.sha256) {
        const committed: InstallRecord = { ...restarted, state: 'committed' }
        transition = { record: committed, effects: [report(committed)] }
      } else {
        transition = rollBack(restarted, ROLLBACK_REASONS.commitInterrupted, 'The agent stopped before the commit record was written', true)
      }
      break
    default:
      // Download resumes from its verified chunks, verification and the failure path rerun idempotently.
      transition = { record: restarted, effects: [] }
  }
  return guardLoop(transition)
}

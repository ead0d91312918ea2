/**
 * The rollout state machine as a pure reducer (issue 6 §3-5):
 *
 *   draft → running ⇄ paused
 *   running → waiting-approval → running          (manual approval per wave)
 *   running | paused | waiting-approval → completed | halted | aborted
 *   halted → running (retry of the failed cohort) | aborted
 *
 * Every call returns the next rollout, its device rows and the effects to carry out. Directives are never sent by
 * a decision alone: a decision marks rows 'sending' (the ledger intent, persisted first), and `pendingSends` derives
 * the sends from the rows. A tick re-run after a crash therefore finds the intents, not a fresh decision, and no
 * device gets a second directive (see services/rolloutService.ts for the reconciliation).
 */
import type {
  ArtifactPin,
  GateDecision,
  RolloutDevice,
  RolloutRecord,
  RolloutSpec,
  RolloutStatus,
  WaveState,
} from '../../../src-shared/domain/rollout.ts'
import { AppError } from '../../../src-shared/errors.ts'
import type { AuditDraft } from '../audit/auditChain.ts'
import { computeWaveStats, isPendingStatus, type DriftReading } from './computeWaveStats.ts'
import { describeGateDecision, evaluateWaveGate } from './evaluateWaveGate.ts'
import { createDeviceObserver, type DeviceObservation } from './observeDevice.ts'
import type { RolloutPlan } from './planRollout.ts'
import { isInMaintenanceWindow, sendAllowance } from './sendPacing.ts'

export const SYSTEM_ACTOR = 'system'

/** A directive to send; derived from a row in 'sending' or 'rollback-sending'. */
export interface DirectiveRequest {
  rolloutId: string
  deviceId: string
  action: 'install' | 'rollback'
  artifact: ArtifactPin
  /** Compare-and-swap: what the device should be running when it gets this (anchors-security.md §10.3). */
  expectCurrent: ArtifactPin | null
  /** The wave (signed directives call it the stage). */
  stage: number
  attempt: number
  /** The device's newest directive seq when the send was decided. */
  seqBefore: number
  reason: string
}

export type RolloutEffect =
  | { type: 'send-directive'; request: DirectiveRequest }
  | { type: 'record-audit'; entry: AuditDraft }
  | { type: 'notify-progress' }

export interface RolloutChange {
  rollout: RolloutRecord
  devices: RolloutDevice[]
  /** Rows that differ from the input, by id (what the store must write). */
  changedDeviceIds: string[]
  effects: RolloutEffect[]
  isChanged: boolean
}

export type OperatorAction =
  | { type: 'pause' | 'resume' | 'approve' | 'retry'; actor: string; reason: string }
  | { type: 'abort'; mode: 'keep' | 'rollback'; actor: string; reason: string }
  | { type: 'rollback'; scope: 'wave' | 'all'; actor: string; reason: string }

export const TERMINAL_STATUSES: ReadonlySet<RolloutStatus> = new Set(['completed', 'halted', 'aborted'])
const ACTIVE_STATUSES: ReadonlySet<RolloutStatus> = new Set(['running', 'paused', 'waiting-approval'])

export function isActiveStatus(status: RolloutStatus): boolean {
  return ACTIVE_STATUSES.has(status)
}

function audit(actor: string, action: string, rolloutId: string, reason: string, details: Record<string, unknown> = {}): RolloutEffect {
  return { type: 'record-audit', entry: { actor, action, subject: rolloutId, reason, details } }
}

function conflict(rollout: RolloutRecord, verb: string, allowed: string): AppError {
  return new AppError('conflict', `Rollout ${rollout.rolloutId} is ${rollout.status}; ${verb} applies only when it is ${allowed}`, {
    rolloutId: rollout.rolloutId,
    status: rollout.status,
  })
}

/** Collects the rows a step changes and builds the RolloutChange. */
function changeBuilder(rollout: RolloutRecord, rows: readonly RolloutDevice[]) {
  const next = [...rows]
  const changed = new Set<string>()
  const effects: RolloutEffect[] = []
  let current = rollout
  let isRolloutChanged = false
  return {
    get rollout() {
      return current
    },
    rows: next as readonly RolloutDevice[],
    setRollout(patch: Partial<RolloutRecord>) {
      current = { ...current, ...patch }
      isRolloutChanged = true
    },
    setWave(index: number, patch: Partial<WaveState>) {
      current = { ...current, waves: current.waves.map((wave) => (wave.index === index ? { ...wave, ...patch } : wave)) }
      isRolloutChanged = true
    },
    /** Replaces the row at `index` (rows keep their order, so positions in `rows` are stable). */
    setRow(index: number, row: RolloutDevice) {
      next[index] = row
      changed.add(row.deviceId)
    },
    effect(effect: RolloutEffect) {
      effects.push(effect)
    },
    build(now: string): RolloutChange {
      const isChanged = isRolloutChanged || changed.size > 0
      const rolloutOut = isChanged ? { ...current, updatedAt: now, revision: rollout.revision + 1 } : rollout
      if (isChanged) effects.push({ type: 'notify-progress' })
      return { rollout: rolloutOut, devices: next, changedDeviceIds: [...changed], effects, isChanged }
    },
  }
}

type Builder = ReturnType<typeof changeBuilder>

export interface DraftInput {
  rolloutId: string
  spec: RolloutSpec
  plan: RolloutPlan
  actor: string
  reason: string
  now: string
}

/** A new rollout in 'draft', with the plan made now (re-made at start, against the fleet as it is then). */
export function createDraft(input: DraftInput): RolloutChange {
  const rollout: RolloutRecord = {
    rolloutId: input.rolloutId,
    spec: input.spec,
    status: 'draft',
    createdAt: input.now,
    createdBy: input.actor,
    startedAt: null,
    finishedAt: null,
    updatedAt: input.now,
    currentWave: null,
    waves: input.plan.waves,
    haltReasons: [],
    abortMode: null,
    revision: 0,
  }
  return {
    rollout,
    devices: input.plan.devices,
    changedDeviceIds: input.plan.devices.map((row) => row.deviceId),
    effects: [
      audit(input.actor, 'rollout.created', input.rolloutId, input.reason, {
        release: input.spec.release.name,
        variants: input.spec.release.variants.map((variant) => `${variant.name}=${variant.modelId}`),
        targetedCount: input.plan.targetedCount,
        waves: input.plan.waves.map((wave) => wave.deviceCount),
      }),
      { type: 'notify-progress' },
    ],
    isChanged: true,
  }
}

/** draft → running with a fresh plan; the first wave starts at once. */
export function startRollout(rollout: RolloutRecord, plan: RolloutPlan, actor: string, reason: string, now: string): RolloutChange {
  if (rollout.status !== 'draft') throw conflict(rollout, 'start', 'draft')
  const hasWaves = plan.waves.length > 0
  const waves = plan.waves.map((wave, index) => (index === 0 ? { ...wave, status: 'active' as const, startedAt: now } : wave))
  const started: RolloutRecord = {
    ...rollout,
    status: hasWaves ? 'running' : 'completed',
    startedAt: now,
    finishedAt: hasWaves ? null : now,
    currentWave: hasWaves ? 0 : null,
    waves,
    updatedAt: now,
    revision: rollout.revision + 1,
  }
  return {
    rollout: started,
    devices: plan.devices,
    changedDeviceIds: plan.devices.map((row) => row.deviceId),
    effects: [
      audit(actor, 'rollout.started', rollout.rolloutId, reason, {
        targetedCount: plan.targetedCount,
        waves: plan.waves.map((wave) => wave.deviceCount),
        skippedIncompatible: plan.devices.filter((row) => row.status === 'skipped-incompatible').length,
      }),
      ...(hasWaves ? [] : [audit(SYSTEM_ACTOR, 'rollout.completed', rollout.rolloutId, 'no device needs the release')]),
      { type: 'notify-progress' },
    ],
    isChanged: true,
  }
}

/** Rows whose device may run (or be about to run) the new release and can go back to what it ran before. */
function canRollBack(row: RolloutDevice): boolean {
  if (row.rollbackSeq !== null || row.status === 'rollback-sending') return false
  if (row.previous === null || row.previous.sha256 === row.target?.sha256) return false
  return row.status === 'sending' || row.status === 'sent' || row.status === 'installing' || row.status === 'committed' || row.status === 'timed-out' || row.status === 'silent'
}

const NO_ROLLBACK_TARGET = 'no previous release to roll back to'

/** Marks rollback intents (rollbacks are never held back by rate limits or maintenance windows). */
function markRollbacks(builder: Builder, inScope: (row: RolloutDevice) => boolean, reason: string, now: string): { marked: number; withoutTarget: number } {
  let marked = 0
  let withoutTarget = 0
  builder.rows.forEach((row, index) => {
    if (row.wave === null || !inScope(row)) return
    if (canRollBack(row)) {
      builder.setRow(index, {
        ...row,
        status: 'rollback-sending',
        rollbackAttempt: row.rollbackAttempt + 1,
        rollbackSeqBefore: Math.max(row.seq ?? 0, row.seqBefore ?? 0),
        rollbackIntentAt: now,
        settledAt: null,
        note: reason.slice(0, 300),
      })
      marked += 1
    } else if (row.previous === null && (row.status === 'committed' || row.status === 'installing' || row.status === 'sent')) {
      if (row.note !== NO_ROLLBACK_TARGET) builder.setRow(index, { ...row, note: NO_ROLLBACK_TARGET })
      withoutTarget += 1
    }
  })
  return { marked, withoutTarget }
}

export function applyOperatorAction(rollout: RolloutRecord, rows: readonly RolloutDevice[], action: OperatorAction, now: string): RolloutChange {
  const builder = changeBuilder(rollout, rows)
  const { actor, reason } = action
  const id = rollout.rolloutId
  switch (action.type) {
    case 'pause':
      if (rollout.status !== 'running' && rollout.status !== 'waiting-approval') throw conflict(rollout, 'pause', 'running or waiting for approval')
      builder.setRollout({ status: 'paused' })
      builder.effect(audit(actor, 'rollout.paused', id, reason))
      break
    case 'resume':
      if (rollout.status !== 'paused') throw conflict(rollout, 'resume', 'paused')
      builder.setRollout({ status: 'running' })
      builder.effect(audit(actor, 'rollout.resumed', id, reason))
      break
    case 'approve': {
      if (rollout.status !== 'waiting-approval' || rollout.currentWave === null) throw conflict(rollout, 'approve', 'waiting for approval')
      const index = rollout.currentWave
      builder.setWave(index, { approvedAt: now, approvedBy: actor, status: 'active', startedAt: now })
      builder.setRollout({ status: 'running' })
      builder.effect(audit(actor, 'rollout.approved', id, reason, { wave: index + 1 }))
      break
    }
    case 'retry': {
      if (rollout.status === 'draft' || rollout.status === 'aborted') throw conflict(rollout, 'retry', 'started and not aborted')
      const { retries } = rollout.spec
      const currentWave = rollout.currentWave ?? 0
      let retried = 0
      for (const [index, row] of rows.entries()) {
        if (row.wave === null || row.wave > currentWave || row.rollbackSeq !== null) continue
        const retriesUsed = row.attempt - 1
        const isRetryable =
          (row.status === 'failed' && retriesUsed < retries.maxFailedRetries) || (row.status === 'timed-out' && retriesUsed < retries.maxTimedOutRetries)
        if (!isRetryable) continue
        builder.setRow(index, { ...row, status: 'planned', seq: null, seqBefore: null, sentAt: null, acceptedAt: null, settledAt: null, errorCode: null, note: `retry ${row.attempt} after ${row.errorCode ?? 'failure'}` })
        retried += 1
      }
      if (retried === 0) {
        throw new AppError('conflict', `Rollout ${id} has no failed or timed-out device left to retry (at most ${retries.maxFailedRetries} retries after a failure, ${retries.maxTimedOutRetries} after a timeout)`, {
          rolloutId: id,
        })
      }
      if (rollout.status === 'halted' || rollout.status === 'completed') {
        const index = rollout.status === 'completed' ? rollout.waves.length - 1 : currentWave
        builder.setWave(index, { status: 'active', finishedAt: null, decision: null })
        builder.setRollout({ status: 'running', haltReasons: [], finishedAt: null, currentWave: index })
      }
      builder.effect(audit(actor, 'rollout.retried', id, reason, { deviceCount: retried }))
      break
    }
    case 'abort': {
      if (rollout.status === 'completed' || rollout.status === 'aborted') throw conflict(rollout, 'abort', 'not yet finished (use rollback for a completed rollout)')
      builder.setRollout({ status: 'aborted', abortMode: action.mode, finishedAt: now })
      const rolledBack = action.mode === 'rollback' ? markRollbacks(builder, () => true, `abort: ${reason}`, now) : { marked: 0, withoutTarget: 0 }
      builder.effect(audit(actor, 'rollout.aborted', id, reason, { mode: action.mode, rollbackCount: rolledBack.marked, withoutRollbackTarget: rolledBack.withoutTarget }))
      break
    }
    case 'rollback': {
      if (rollout.status === 'draft') throw conflict(rollout, 'rollback', 'started')
      const wave = rollout.currentWave
      const inScope = action.scope === 'all' ? () => true : (row: RolloutDevice) => row.wave === wave
      const rolledBack = markRollbacks(builder, inScope, `rollback: ${reason}`, now)
      if (rolledBack.marked === 0) {
        throw new AppError('conflict', `Rollout ${id} has no device in scope that switched and has a previous release to return to`, { rolloutId: id })
      }
      if (isActiveStatus(rollout.status)) builder.setRollout({ status: 'aborted', abortMode: 'rollback', finishedAt: now })
      else if (rollout.status === 'aborted') builder.setRollout({ abortMode: 'rollback' })
      builder.effect(audit(actor, 'rollout.rolled-back', id, reason, { scope: action.scope, rollbackCount: rolledBack.marked, withoutRollbackTarget: rolledBack.withoutTarget }))
      break
    }
    default:
      return unreachableAction(action)
  }
  return builder.build(now)
}

function unreachableAction(action: never): never {
  throw new AppError('invalid-input', `Unknown rollout action ${JSON.stringify(action)}`)
}

export interface TickInput {
  rollout: RolloutRecord
  devices: readonly RolloutDevice[]
  observations: ReadonlyMap<string, DeviceObservation>
  drift: DriftReading | null
  now: string
}

/** The same decision twice is one decision: soak countdowns alone do not count as a change worth storing. */
function isSameDecision(a: GateDecision | null, b: GateDecision): boolean {
  if (a === null || a.verdict !== b.verdict || a.reasons.join() !== b.reasons.join()) return false
  const { soakRemainingMs: _a, ...restA } = a.values
  const { soakRemainingMs: _b, ...restB } = b.values
  return JSON.stringify(restA) === JSON.stringify(restB) && (a.values.soakRemainingMs === null) === (b.values.soakRemainingMs === null)
}

/**
 * One evaluation: take in what devices reported, evaluate the current wave's gate, advance / wait / halt, and
 * decide the next installs within the rate limit and maintenance windows. Idempotent: with the same inputs a second
 * tick changes nothing and decides no new directive.
 */
export function tickRollout(input: TickInput): RolloutChange {
  const { rollout, now } = input
  const nowMs = Date.parse(now)
  const builder = changeBuilder(rollout, input.devices)
  if (rollout.status === 'draft') return builder.build(now)

  const observe = createDeviceObserver(now, rollout.spec.timeouts)
  input.devices.forEach((row, index) => {
    const observed = observe(row, input.observations.get(row.deviceId))
    if (observed !== row) builder.setRow(index, observed)
  })
  // Finished rollouts keep settling the account (late reports, rollbacks in flight) but decide nothing new.
  if (TERMINAL_STATUSES.has(rollout.status) || rollout.currentWave === null) return builder.build(now)

  const id = rollout.rolloutId
  const { spec } = rollout
  let waveIndex = rollout.currentWave
  let wave = builder.rollout.waves[waveIndex]
  if (!wave) return builder.build(now)

  // A resumed rollout whose next wave was never approved goes back to waiting.
  if (builder.rollout.status === 'running' && wave.status === 'pending') {
    if (wave.spec.requiresApproval && wave.approvedAt === null) {
      builder.setRollout({ status: 'waiting-approval' })
    } else {
      builder.setWave(waveIndex, { status: 'active', startedAt: now })
    }
    wave = builder.rollout.waves[waveIndex] ?? wave
  }

  const stats = computeWaveStats(builder.rollout, builder.rows, input.observations, input.drift, nowMs)
  const decision = evaluateWaveGate(stats, spec.gates)
  if (!isSameDecision(wave.decision, decision)) builder.setWave(waveIndex, { decision })

  if (decision.verdict === 'halt') {
    const reasonText = describeGateDecision(decision, spec.gates)
    builder.setWave(waveIndex, { status: 'halted', finishedAt: now })
    builder.setRollout({ status: 'halted', haltReasons: decision.reasons, finishedAt: now })
    let rollbackCount = 0
    if (spec.onBreach === 'halt-and-rollback') {
      rollbackCount = markRollbacks(builder, (row) => row.wave === waveIndex, `halt: ${reasonText}`, now).marked
    }
    builder.effect(audit(SYSTEM_ACTOR, 'rollout.halted', id, reasonText, { wave: waveIndex + 1, reasons: decision.reasons, values: decision.values, rollbackCount }))
    return builder.build(now)
  }
  if (builder.rollout.status !== 'running') return builder.build(now)

  if (decision.verdict === 'advance') {
    builder.setWave(waveIndex, { status: 'passed', finishedAt: now })
    builder.effect(audit(SYSTEM_ACTOR, 'rollout.wave-passed', id, `wave ${waveIndex + 1} passed its gate`, { wave: waveIndex + 1, values: decision.values }))
    const next = builder.rollout.waves[waveIndex + 1]
    if (!next) {
      builder.setRollout({ status: 'completed', finishedAt: now })
      builder.effect(audit(SYSTEM_ACTOR, 'rollout.completed', id, 'every wave passed its gate'))
      return builder.build(now)
    }
    waveIndex = next.index
    builder.setRollout({ currentWave: waveIndex })
    if (next.spec.requiresApproval && next.approvedAt === null) {
      builder.setRollout({ status: 'waiting-approval' })
      builder.effect(audit(SYSTEM_ACTOR, 'rollout.awaiting-approval', id, `wave ${waveIndex + 1} needs an operator's approval`, { wave: waveIndex + 1 }))
      return builder.build(now)
    }
    builder.setWave(waveIndex, { status: 'active', startedAt: now })
  }

  if (isInMaintenanceWindow(spec.maintenanceWindows, nowMs)) decideInstalls(builder, input.observations, waveIndex, nowMs, now)
  return builder.build(now)
}

/** Marks the next planned devices (plan order, waves so far) as install intents, within the rate limit. */
function decideInstalls(builder: Builder, observations: ReadonlyMap<string, DeviceObservation>, waveIndex: number, nowMs: number, now: string): void {
  const rollout = builder.rollout
  let allowance = sendAllowance(rollout.spec.rate, builder.rows, nowMs)
  if (allowance <= 0) return
  const candidates: number[] = []
  builder.rows.forEach((row, index) => {
    if (row.status === 'planned' && row.wave !== null && row.wave <= waveIndex && row.target !== null) candidates.push(index)
  })
  candidates.sort((a, b) => (builder.rows[a]?.position ?? 0) - (builder.rows[b]?.position ?? 0))
  for (const index of candidates) {
    const row = builder.rows[index]
    if (allowance <= 0 || row === undefined) break
    const observation = observations.get(row.deviceId)
    const isOnPrevious = observation !== undefined && observation.activeSha256 === (row.previous?.sha256 ?? null)
    builder.setRow(index, {
      ...row,
      status: 'sending',
      attempt: row.attempt + 1,
      seqBefore: observation?.latestDirectiveSeq ?? 0,
      intentAt: now,
      baselineP95Ms: isOnPrevious && observation.latency ? observation.latency.p95Ms : row.baselineP95Ms,
    })
    allowance -= 1
  }
}

/**
 * The directives the rows call for: every install intent while the rollout runs and every rollback intent.
 * Crash recovery and normal operation use the same list.
 */
export function pendingSends(rollout: RolloutRecord, rows: readonly RolloutDevice[]): { sends: DirectiveRequest[]; staleInstalls: RolloutDevice[] } {
  const sends: DirectiveRequest[] = []
  const staleInstalls: RolloutDevice[] = []
  for (const row of rows) {
    if (row.status === 'sending' && row.target !== null) {
      if (rollout.status !== 'running') {
        staleInstalls.push(row)
        continue
      }
      sends.push({
        rolloutId: rollout.rolloutId,
        deviceId: row.deviceId,
        action: 'install',
        artifact: row.target,
        expectCurrent: row.previous,
        stage: row.wave ?? 0,
        attempt: row.attempt,
        seqBefore: row.seqBefore ?? 0,
        reason: `rollout ${rollout.rolloutId} wave ${(row.wave ?? 0) + 1}${row.attempt > 1 ? ` retry ${row.attempt - 1}` : ''}`,
      })
    } else if (row.status === 'rollback-sending' && row.previous !== null) {
      sends.push({
        rolloutId: rollout.rolloutId,
        deviceId: row.deviceId,
        action: 'rollback',
        artifact: row.previous,
        expectCurrent: row.target,
        stage: row.wave ?? 0,
        attempt: row.rollbackAttempt,
        seqBefore: row.rollbackSeqBefore ?? 0,
        reason: (row.note ?? `rollout ${rollout.rolloutId} rollback`).slice(0, 300),
      })
    }
  }
  return { sends, staleInstalls }
}

/** Applies a send's receipt: the row moves to 'sent' / 'rollback-sent' with the directive's seq. */
export function applySendReceipt(row: RolloutDevice, request: DirectiveRequest, seq: number, now: string): RolloutDevice {
  if (request.action === 'install') {
    if (row.status !== 'sending' || row.attempt !== request.attempt) return row
    return { ...row, status: 'sent', seq, sentAt: now }
  }
  if (row.status !== 'rollback-sending' || row.rollbackAttempt !== request.attempt) return row
  return { ...row, status: 'rollback-sent', rollbackSeq: seq, rollbackSentAt: now }
}

/**
 * The sender refused a directive for good (its artifact or device is unknown): the row fails with the refusal's
 * code instead of being retried on every tick.
 */
export function applySendRefusal(row: RolloutDevice, request: DirectiveRequest, code: string, message: string, now: string): RolloutDevice {
  const isCurrent = request.action === 'install' ? row.status === 'sending' && row.attempt === request.attempt : row.status === 'rollback-sending' && row.rollbackAttempt === request.attempt
  if (!isCurrent) return row
  return { ...row, status: 'failed', errorCode: `${request.action}-refused:${code}`.slice(0, 64), note: message.slice(0, 300), settledAt: now }
}

/** An install intent that was never sent and no longer should be (the rollout stopped running): back to planned. */
export function withdrawInstall(row: RolloutDevice): RolloutDevice {
  if (row.status !== 'sending') return row
  return { ...row, status: 'planned', attempt: Math.max(0, row.attempt - 1), intentAt: null, seqBefore: null }
}

/** Rows the current wave still waits for, for progress displays. */
export function pendingCount(rows: readonly RolloutDevice[], waveIndex: number): number {
  return rows.filter((row) => row.wave === waveIndex && isPendingStatus(row.status)).length
}

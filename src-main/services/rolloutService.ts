/**
 * Staged rollouts (issue 6): creates and plans rollouts, applies operator actions, and ticks every unsettled
 * rollout: observe devices → pure tick (core/rollout) → persist state, ledger intents and audit in one transaction →
 * send the directives the rows call for → record each receipt. All state lives in SQLite; `startTicking` after a
 * restart resumes every rollout where it was.
 *
 * No duplicate directives after a crash: a send is decided (row 'sending', ledger intent with the device's newest
 * directive seq at that moment) and persisted before it happens. Before sending, the service asks the directive
 * store for the device's newest directive; one newer than the recorded seq for the same artifact is the send a
 * crash interrupted, and is adopted instead of repeated.
 */
import type { DryRunResult, RolloutDetail, RolloutSpec, RolloutSpecInput, RolloutSummary, SimulationInput } from '../../src-shared/domain/rollout.ts'
import { AppError, type ErrorCode } from '../../src-shared/errors.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import type { AuditEntry, AuditVerification } from '../core/audit/auditChain.ts'
import type { DeviceRecord } from '../core/fleet/deviceRecord.ts'
import type { DriftReading } from '../core/rollout/computeWaveStats.ts'
import { normalizeRolloutSpec } from '../core/rollout/defaults.ts'
import type { DeviceObservation } from '../core/rollout/observeDevice.ts'
import { planRollout, type FleetDevice, type ResolvedVariant } from '../core/rollout/planRollout.ts'
import {
  applyOperatorAction,
  createDraft,
  isActiveStatus,
  pendingSends,
  startRollout,
  tickRollout,
  type DirectiveRequest,
  type OperatorAction,
  type RolloutChange,
} from '../core/rollout/rolloutMachine.ts'
import { rolloutReportCsv, rolloutReportJson, toRolloutDetail, toRolloutSummary } from '../core/rollout/rolloutReport.ts'
import { simulateRollout, syntheticFleet } from '../core/rollout/simulateRollout.ts'
import type { AuditLog } from '../ports/AuditLog.ts'
import type { Clock } from '../ports/Clock.ts'
import type { DeviceRepository } from '../ports/DeviceRepository.ts'
import type { DirectiveSender } from '../ports/DirectiveSender.ts'
import type { ModelRepository } from '../ports/ModelRepository.ts'
import type { RolloutRepository, SendReceipt } from '../ports/RolloutRepository.ts'

/** Drift of a release's inputs or predictions on the devices that run it (the telemetry/drift feature provides it). */
export interface RolloutDriftSource {
  /** Null when there is no reading yet. */
  driftOf(input: { rolloutId: string; artifactSha256s: readonly string[]; deviceIds: readonly string[]; since: string }): Promise<DriftReading | null>
}

/** Who acts and why, as the audit log records it. */
export interface Actor {
  actor: string
  reason: string
}

export interface RolloutServiceOptions {
  rollouts: RolloutRepository
  audit: AuditLog
  sender: DirectiveSender
  devices: DeviceRepository
  models: ModelRepository
  clock: Clock
  log: Logger
  newRolloutId: () => string
  /** Called after every stored change (the backend pushes 'rollout.progressed'). Must not throw. */
  onProgress?: (summary: RolloutSummary) => void
  drift?: RolloutDriftSource
  /** Each device's tags and groups (the devices table keeps tags; groups are tags 'group:NAME'). None: no labels. */
  labels?: () => Promise<ReadonlyMap<string, { tags: string[]; groups: string[] }>>
  tickIntervalMs?: number
  /** Directives in flight at once while a wave goes out. */
  sendConcurrency?: number
}

export interface RolloutReportFile {
  rolloutId: string
  format: 'json' | 'csv'
  fileName: string
  content: string
}

const DEFAULT_TICK_INTERVAL_MS = 2000
const DEFAULT_SEND_CONCURRENCY = 16
/** A dry run is bounded so a tiny time step cannot keep the backend busy. */
const MAX_DRY_RUN_STEPS = 20_000
/** How long a finished rollout keeps watching its silent devices (one that returns gets its real outcome). */
const WATCH_SILENT_DEVICES_MS = 7 * 24 * 3_600_000
/** Sender errors that no retry fixes. */
const PERMANENT_REFUSALS: ReadonlySet<ErrorCode> = new Set(['not-found', 'invalid-input'])
/** Rows whose device's newest directive matters: in flight, or about to be sent. */
const NEEDS_LATEST: ReadonlySet<string> = new Set(['planned', 'sending', 'sent', 'installing', 'silent', 'timed-out', 'rollback-sending', 'rollback-sent'])

export function toFleetDevice(record: DeviceRecord, labels: { tags: string[]; groups: string[] }): FleetDevice {
  return {
    deviceId: record.deviceId,
    tags: labels.tags,
    groups: labels.groups,
    isOnline: record.isOnline,
    hardware: record.hardware && { arch: record.hardware.arch, memoryBytes: record.hardware.memoryBytes, accelerators: record.hardware.accelerators },
    executionProviders: record.executionProviders.filter((probe) => probe.isAvailable).map((probe) => probe.name),
    active: record.activeModel && { modelId: record.activeModel.modelId, sha256: record.activeModel.sha256 },
  }
}

export function toObservation(record: DeviceRecord, latestSeq: number | null): DeviceObservation {
  return {
    deviceId: record.deviceId,
    isOnline: record.isOnline,
    reportedDirectiveSeq: record.reportedDirectiveSeq,
    latestDirectiveSeq: latestSeq,
    installState: record.install.state,
    installErrorCode: record.install.errorCode,
    activeSha256: record.activeModel?.sha256 ?? null,
    latency: record.latency && record.latency.requestCount > 0 ? { p95Ms: record.latency.p95Ms, windowEndAt: record.latency.windowEndAt } : null,
  }
}

export function createRolloutService(options: RolloutServiceOptions) {
  const { rollouts, audit, sender, devices, models, clock, log } = options
  const sendConcurrency = options.sendConcurrency ?? DEFAULT_SEND_CONCURRENCY
  const nowIso = () => new Date(clock.nowMs()).toISOString()
  const locks = new Map<string, Promise<unknown>>()
  let timer: ReturnType<typeof setInterval> | undefined
  let tickingAll: Promise<void> | undefined

  /** Ticks and actions of one rollout run one at a time; different rollouts proceed independently. */
  function withLock<T>(rolloutId: string, work: () => Promise<T>): Promise<T> {
    const previous = locks.get(rolloutId) ?? Promise.resolve()
    const next = previous.then(work, work)
    const settled = next.catch(() => undefined)
    locks.set(rolloutId, settled)
    void settled.then(() => {
      if (locks.get(rolloutId) === settled) locks.delete(rolloutId)
    })
    return next
  }

  async function mustGet(rolloutId: string) {
    const rollout = await rollouts.get(rolloutId)
    if (!rollout) throw new AppError('not-found', `No rollout ${rolloutId}; \`outpost rollout status\` lists them`, { rolloutId })
    return rollout
  }

  async function resolveVariants(spec: RolloutSpec): Promise<ResolvedVariant[]> {
    const resolved: ResolvedVariant[] = []
    for (const variant of spec.release.variants) {
      const model = await models.get(variant.modelId)
      if (!model) throw new AppError('not-found', `No model ${variant.modelId} for variant '${variant.name}'; import it first`, { modelId: variant.modelId })
      resolved.push({ ...variant, sha256: model.sha256 })
    }
    return resolved
  }

  async function fleetSnapshot(spec: RolloutSpec): Promise<{ fleet: FleetDevice[]; records: DeviceRecord[] }> {
    const records = await devices.list()
    const labels = (await options.labels?.()) ?? new Map<string, { tags: string[]; groups: string[] }>()
    const known = new Set(records.map((record) => record.deviceId))
    const missing = spec.target.deviceIds.filter((deviceId) => !known.has(deviceId))
    if (missing.length > 0) {
      throw new AppError('not-found', `Unknown device${missing.length > 1 ? 's' : ''} ${missing.slice(0, 10).join(', ')}; enroll first`, { deviceIds: missing.slice(0, 100) })
    }
    return { fleet: records.map((record) => toFleetDevice(record, labels.get(record.deviceId) ?? { tags: [], groups: [] })), records }
  }

  function notify(change: Pick<RolloutChange, 'rollout' | 'devices'>): void {
    if (!options.onProgress) return
    try {
      options.onProgress(toRolloutSummary(change.rollout, change.devices))
    } catch (error) {
      log.error('A rollout progress listener failed', error)
    }
  }

  async function persist(change: RolloutChange, expectedRevision: number | null, replaceDevices = false): Promise<void> {
    const changed = new Set(change.changedDeviceIds)
    await rollouts.save({
      rollout: change.rollout,
      devices: replaceDevices ? change.devices : change.devices.filter((row) => changed.has(row.deviceId)),
      replaceDevices,
      audit: change.effects.flatMap((effect) => (effect.type === 'record-audit' ? [effect.entry] : [])),
      expectedRevision,
    })
  }

  async function observe(rows: RolloutChange['devices'], records?: readonly DeviceRecord[]): Promise<Map<string, DeviceObservation>> {
    const fleet = records ?? (await devices.list())
    const wanted = rows.filter((row) => NEEDS_LATEST.has(row.status)).map((row) => row.deviceId)
    const latest = await sender.latest(wanted)
    const observations = new Map<string, DeviceObservation>()
    for (const record of fleet) observations.set(record.deviceId, toObservation(record, latest.get(record.deviceId)?.seq ?? null))
    return observations
  }

  async function driftFor(rollout: RolloutChange['rollout'], rows: RolloutChange['devices']): Promise<DriftReading | null> {
    if (!options.drift || rollout.startedAt === null) return null
    const switched = rows.filter((row) => row.status === 'committed' && row.wave !== null)
    if (switched.length === 0) return null
    try {
      return await options.drift.driftOf({
        rolloutId: rollout.rolloutId,
        artifactSha256s: [...new Set(switched.flatMap((row) => (row.target ? [row.target.sha256] : [])))],
        deviceIds: switched.map((row) => row.deviceId),
        since: rollout.startedAt,
      })
    } catch (error) {
      log.warn('Could not read drift for a rollout gate; the gate treats drift as unmeasured', { rolloutId: rollout.rolloutId, reason: String(error) })
      return null
    }
  }

  /**
   * Sends every directive the rows call for, a few at a time. A device whose newest directive is newer than the
   * seq recorded at decision time and installs the same artifact already has it: adopted, not resent.
   */
  async function executeSends(change: Pick<RolloutChange, 'rollout' | 'devices'>): Promise<number> {
    const { sends, staleInstalls } = pendingSends(change.rollout, change.devices)
    if (sends.length === 0 && staleInstalls.length === 0) return 0
    let recorded = 0
    const isAlreadyIssued = (request: Pick<DirectiveRequest, 'seqBefore' | 'artifact'>, issued: { seq: number; artifactSha256: string | null } | undefined) =>
      issued !== undefined && issued.seq > request.seqBefore && issued.artifactSha256 === request.artifact.sha256

    if (staleInstalls.length > 0) {
      const latest = await sender.latest(staleInstalls.map((row) => row.deviceId))
      const receipts: SendReceipt[] = []
      for (const row of staleInstalls) {
        if (row.target === null) continue
        const request: DirectiveRequest = {
          rolloutId: change.rollout.rolloutId,
          deviceId: row.deviceId,
          action: 'install',
          artifact: row.target,
          expectCurrent: row.previous,
          stage: row.wave ?? 0,
          attempt: row.attempt,
          seqBefore: row.seqBefore ?? 0,
          reason: 'withdrawn',
        }
        const issued = latest.get(row.deviceId)
        receipts.push({ request, seq: isAlreadyIssued(request, issued) && issued ? issued.seq : null })
      }
      await rollouts.recordSends(receipts, nowIso())
      recorded += receipts.length
    }

    for (let start = 0; start < sends.length; start += sendConcurrency * 8) {
      const batch = sends.slice(start, start + sendConcurrency * 8)
      const latest = await sender.latest(batch.map((request) => request.deviceId))
      const receipts: SendReceipt[] = []
      let next = 0
      const worker = async () => {
        while (next < batch.length) {
          const request = batch[next++]
          if (!request) return
          try {
            const issued = latest.get(request.deviceId)
            let seq: number
            if (isAlreadyIssued(request, issued) && issued) {
              seq = issued.seq
              log.info('Adopted a rollout directive sent before a restart', { rolloutId: request.rolloutId, deviceId: request.deviceId, seq })
            } else {
              seq = (await sender.send(request)).seq
            }
            receipts.push({ request, seq })
          } catch (error) {
            if (error instanceof AppError && PERMANENT_REFUSALS.has(error.code)) {
              // Retrying cannot help (e.g. the rollback target is a model this control center never imported).
              receipts.push({ request, seq: null, refusal: { code: error.code, message: error.message } })
              log.warn('A rollout directive was refused; the device is marked failed', { rolloutId: request.rolloutId, deviceId: request.deviceId, code: error.code })
              continue
            }
            // The intent stays; the next tick reconciles and tries again.
            log.warn('Could not send a rollout directive now; retrying on the next tick', {
              rolloutId: request.rolloutId,
              deviceId: request.deviceId,
              action: request.action,
              reason: error instanceof Error ? error.message : String(error),
            })
          }
        }
      }
      await Promise.all(Array.from({ length: Math.min(sendConcurrency, batch.length) }, worker))
      await rollouts.recordSends(receipts, nowIso())
      recorded += receipts.length
    }
    return recorded
  }

  /** One tick of one rollout; callers hold its lock. `records` lets tickAll share one fleet read. */
  async function tickLocked(rolloutId: string, records?: readonly DeviceRecord[]): Promise<void> {
    const rollout = await rollouts.get(rolloutId)
    if (!rollout || rollout.status === 'draft') return
    const rows = await rollouts.devices(rolloutId)
    const observations = await observe(rows, records)
    const change = tickRollout({ rollout, devices: rows, observations, drift: await driftFor(rollout, rows), now: nowIso() })
    if (change.isChanged) await persist(change, rollout.revision)
    const sent = await executeSends(change)
    if (change.isChanged || sent > 0) notify({ rollout: change.rollout, devices: sent > 0 ? await rollouts.devices(rolloutId) : change.devices })
  }

  async function act(rolloutId: string, action: OperatorAction): Promise<RolloutDetail> {
    return withLock(rolloutId, async () => {
      const rollout = await mustGet(rolloutId)
      const rows = await rollouts.devices(rolloutId)
      const change = applyOperatorAction(rollout, rows, action, nowIso())
      await persist(change, rollout.revision)
      log.info(`Rollout ${action.type}`, { rolloutId, actor: action.actor, status: change.rollout.status })
      // Rollbacks go out at once; other effects follow on the tick that runs right after.
      await executeSends(change)
      await tickLocked(rolloutId)
      return detail(rolloutId)
    })
  }

  async function detail(rolloutId: string): Promise<RolloutDetail> {
    const rollout = await mustGet(rolloutId)
    const rows = await rollouts.devices(rolloutId)
    return toRolloutDetail(rollout, rows)
  }

  async function tickAll(): Promise<void> {
    const unsettled = await rollouts.listUnsettled(new Date(clock.nowMs() - WATCH_SILENT_DEVICES_MS).toISOString())
    if (unsettled.length === 0) return
    const records = await devices.list()
    for (const rollout of unsettled) {
      try {
        await withLock(rollout.rolloutId, () => tickLocked(rollout.rolloutId, records))
      } catch (error) {
        log.error('A rollout tick failed; it runs again on the next tick', error, { rolloutId: rollout.rolloutId })
      }
    }
  }

  return {
    /** Plans a rollout against the fleet as it is now and stores it as a draft. Throws 'not-found', 'invalid-input'. */
    async create(input: RolloutSpecInput, who: Actor): Promise<RolloutDetail> {
      const spec = normalizeRolloutSpec(input)
      const variants = await resolveVariants(spec)
      const { fleet } = await fleetSnapshot(spec)
      const now = nowIso()
      const plan = planRollout(fleet, { variants, target: spec.target, waves: spec.waves }, now)
      if (plan.targetedCount === 0) {
        throw new AppError('invalid-input', `The target selects none of the ${fleet.length} devices; widen it or enroll devices first`)
      }
      const rolloutId = options.newRolloutId()
      const change = createDraft({ rolloutId, spec, plan, actor: who.actor, reason: who.reason, now })
      await persist(change, null, true)
      notify(change)
      log.info('Created a rollout', { rolloutId, actor: who.actor, targetedCount: plan.targetedCount, waves: plan.waves.map((wave) => wave.deviceCount) })
      return toRolloutDetail(change.rollout, change.devices)
    },

    /**
     * Re-plans against the fleet as it is now and starts the first wave. Throws 'conflict' when it is not a draft
     * or when its devices are part of another rollout still in progress.
     */
    async start(rolloutId: string, who: Actor): Promise<RolloutDetail> {
      return withLock(rolloutId, async () => {
        const rollout = await mustGet(rolloutId)
        if (rollout.status !== 'draft') throw new AppError('conflict', `Rollout ${rolloutId} is ${rollout.status}, not a draft; it has started already`, { rolloutId })
        const variants = await resolveVariants(rollout.spec)
        const { fleet } = await fleetSnapshot(rollout.spec)
        const now = nowIso()
        const plan = planRollout(fleet, { variants, target: rollout.spec.target, waves: rollout.spec.waves }, now)
        const planned = new Set(plan.devices.filter((row) => row.wave !== null).map((row) => row.deviceId))
        for (const other of await rollouts.list()) {
          if (other.rolloutId === rolloutId || !isActiveStatus(other.status)) continue
          const overlap = (await rollouts.devices(other.rolloutId)).filter((row) => row.wave !== null && planned.has(row.deviceId)).map((row) => row.deviceId)
          if (overlap.length > 0) {
            throw new AppError('conflict', `Rollout ${other.rolloutId} is still ${other.status} on ${overlap.length} of these devices (${overlap.slice(0, 5).join(', ')}); finish or abort it first`, {
              rolloutId,
              otherRolloutId: other.rolloutId,
            })
          }
        }
        const change = startRollout(rollout, plan, who.actor, who.reason, now)
        await persist(change, rollout.revision, true)
        log.info('Started a rollout', { rolloutId, actor: who.actor, waves: plan.waves.map((wave) => wave.deviceCount) })
        await tickLocked(rolloutId)
        return detail(rolloutId)
      })
    },

    pause: (rolloutId: string, who: Actor) => act(rolloutId, { type: 'pause', ...who }),
    resume: (rolloutId: string, who: Actor) => act(rolloutId, { type: 'resume', ...who }),
    approve: (rolloutId: string, who: Actor) => act(rolloutId, { type: 'approve', ...who }),
    retry: (rolloutId: string, who: Actor) => act(rolloutId, { type: 'retry', ...who }),
    /** Stops issuing installs; 'rollback' also returns every switched device to the release it ran before. */
    abort: (rolloutId: string, mode: 'keep' | 'rollback', who: Actor) => act(rolloutId, { type: 'abort', mode, ...who }),
    /** Returns switched devices (the current wave, or all) to their previous release; stops the rollout. */
    rollback: (rolloutId: string, scope: 'wave' | 'all', who: Actor) => act(rolloutId, { type: 'rollback', scope, ...who }),

    status: (rolloutId: string) => detail(rolloutId),

    async list(): Promise<RolloutSummary[]> {
      const summaries: RolloutSummary[] = []
      for (const rollout of await rollouts.list()) summaries.push(toRolloutSummary(rollout, await rollouts.devices(rollout.rolloutId)))
      return summaries
    },

    /**
     * Simulates a stored rollout or a spec against the current fleet, or a synthetic one, without sending anything.
     * Throws 'not-found', 'invalid-input'.
     */
    async dryRun(input: { rolloutId?: string | undefined; spec?: RolloutSpecInput | undefined; simulation: SimulationInput }): Promise<DryRunResult> {
      let spec: RolloutSpec
      if (input.rolloutId !== undefined) spec = (await mustGet(input.rolloutId)).spec
      else if (input.spec !== undefined) spec = normalizeRolloutSpec(input.spec)
      else throw new AppError('invalid-input', 'Name a rollout or give a rollout definition to simulate')
      const variants = await resolveVariants(spec)
      const fleet = input.simulation.syntheticDeviceCount === null ? (await fleetSnapshot(spec)).fleet : syntheticFleet(input.simulation.syntheticDeviceCount)
      return simulateRollout({ fleet, spec, variants, simulation: input.simulation, startMs: clock.nowMs(), maxSteps: MAX_DRY_RUN_STEPS })
    },

    /** The per-device account as a JSON or CSV document. */
    async report(rolloutId: string, format: 'json' | 'csv'): Promise<RolloutReportFile> {
      const rollout = await mustGet(rolloutId)
      const rows = await rollouts.devices(rolloutId)
      const content = format === 'csv' ? rolloutReportCsv(rollout, rows) : `${JSON.stringify(rolloutReportJson(rollout, rows, nowIso()), null, 2)}\n`
      return { rolloutId, format, fileName: `rollout-${rolloutId}.${format}`, content }
    },

    /** Audit entries (of one rollout, or all) and the verification of the whole chain. */
    async auditTrail(rolloutId: string | undefined, limit: number): Promise<{ entries: AuditEntry[]; verification: AuditVerification }> {
      const entries = await audit.list({ ...(rolloutId === undefined ? {} : { subject: rolloutId }), limit })
      return { entries, verification: await audit.verify() }
    },

    /** Every directive the rollout decided, sent or withdrew. */
    ledger: (rolloutId: string) => rollouts.ledger(rolloutId),

    /** One tick now: of one rollout, or of every unsettled one (tests and the CLI's impatient users). */
    async tick(rolloutId?: string): Promise<void> {
      if (rolloutId === undefined) return tickAll()
      return withLock(rolloutId, () => tickLocked(rolloutId))
    },

    /** Resumes every unsettled rollout now, then ticks them every interval. Idempotent. */
    startTicking(): void {
      if (timer !== undefined) return
      const run = () => {
        // A slow tick (a large wave going out) is never overlapped by the next one.
        if (tickingAll) return
        tickingAll = tickAll()
          .catch((error: unknown) => log.error('Ticking rollouts failed', error))
          .finally(() => {
            tickingAll = undefined
          })
      }
      run()
      timer = setInterval(run, options.tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS)
      timer.unref()
    },

    /** Stops ticking and waits for the work in progress. */
    async stopTicking(): Promise<void> {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      await tickingAll
      await Promise.all([...locks.values()])
    },
  }
}

export type RolloutService = ReturnType<typeof createRolloutService>

/**
 * Drives one install record through the state machine (core/installMachine.ts): runs the work of the current state,
 * turns its outcome into an event, and hands each transition to `apply`, which makes it durable before the next
 * state's work starts (anchors-security.md §10.6-10.8). Every step is idempotent, so a restart can rerun it.
 */
import type { InstallState } from '../../../src-shared/domain/device.ts'
import { AppError } from '../../../src-shared/errors.ts'
import type { Logger } from '../../../src-shared/rpc/types.ts'
import { type ProviderPlan, describeFallback } from '../core/executionProviders.ts'
import { type HealthVerdict, checkOutputs, compareGolden, goldenFeeds } from '../core/healthCheck.ts'
import { type InstallEvent, type InstallRecord, type Transition, isSettled, stepInstall } from '../core/installMachine.ts'
import { buildSyntheticInputs } from '../core/syntheticInput.ts'
import type { AgentLink } from '../ports/agentLink.ts'
import type { ActivePointer, AgentStore, InstallDirective } from '../ports/agentStore.ts'
import type { Clock } from '../ports/clock.ts'
import type { InstallVerifier } from '../ports/installVerifier.ts'
import type { ModelRuntime } from '../ports/modelRuntime.ts'
import { ChunkDownload, InstallAbortedError, type TransferSettings } from './chunkDownload.ts'
import type { ServedEntry, ServedModel } from './servedModel.ts'

export interface HealthGateSettings {
  /** How long the new model must keep serving healthy probes before the agent asks to commit (`--soak-s`). */
  soakMs: number
  /** Bound of a waiting step, such as the control center's trial ack (anchors-security.md §10.8: 120 s). */
  stepTimeoutMs: number
}

export const defaultHealthGateSettings: HealthGateSettings = { soakMs: 60_000, stepTimeoutMs: 120_000 }

export interface InstallRunnerDeps {
  deviceId: string
  store: AgentStore
  link: AgentLink
  models: ModelRuntime
  served: ServedModel
  verifier: InstallVerifier
  health: HealthGateSettings
  /** Fault injection: every health check of this device fails (simulator `--fault-health-fail-ratio`). */
  isHealthCheckSabotaged: boolean
  transfer: TransferSettings
  /** Provider order for a release (null: the device's default, e.g. when restoring the committed model). */
  planProviders: (directive: InstallDirective | null) => ProviderPlan
  random: () => number
  clock: Clock
  log: Logger
  /** Persists the transition, then carries out its effects. Rejects when the state cannot be made durable. */
  apply: (transition: Transition) => Promise<void>
  /** Publishes a progress report for the record (not persisted). */
  report: (record: InstallRecord, state: InstallState, progress: number) => void
  /** Runs just before the served session changes, so telemetry of the old model closes its own window. */
  beforeSwitch: () => Promise<void>
  drop: (reason: string, fields?: Record<string, unknown>) => void
}

const DONE: InstallEvent = { type: 'done' }
const failed = (code: string, message: string): InstallEvent => ({ type: 'failed', code, message: message.slice(0, 480) })

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Resolves after `ms`, or rejects with InstallAbortedError when the install is cancelled first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new InstallAbortedError('install cancelled'))
    const onAbort = () => {
      clearTimeout(timer)
      reject(new InstallAbortedError('install cancelled'))
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export class InstallRunner {
  readonly #deps: InstallRunnerDeps
  #download: ChunkDownload | undefined
  #stagedBytes: { sha256: string; bytes: Uint8Array } | undefined
  /** The staging file this process just downloaded and hashed; after a restart it is hashed again before promotion. */
  #freshDownload: string | undefined
  #ackWaiter: { seq: number; sha256: string; resolve: () => void } | undefined
  #lastProgressStep = -1

  constructor(deps: InstallRunnerDeps) {
    this.#deps = deps
  }

  /** The transfer in progress, for routing chunk messages. */
  get download(): ChunkDownload | undefined {
    return this.#download
  }

  /** A `trial-ack` command arrived; true when an install was waiting for exactly this one. */
  acknowledgeTrial(directiveSeq: number, sha256: string): boolean {
    const waiter = this.#ackWaiter
    if (waiter === undefined || waiter.seq !== directiveSeq || waiter.sha256 !== sha256) return false
    this.#ackWaiter = undefined
    waiter.resolve()
    return true
  }

  /** Runs the record to a settled state. Throws InstallAbortedError when `signal` fires first. */
  async drive(start: InstallRecord, signal: AbortSignal): Promise<InstallRecord> {
    let record = start
    while (!isSettled(record.state)) {
      if (signal.aborted) throw new InstallAbortedError('install cancelled')
      const event = await this.#work(record, signal)
      if (signal.aborted) throw new InstallAbortedError('install cancelled')
      const transition = stepInstall(record, event)
      await this.#deps.apply(transition)
      record = transition.record
    }
    return record
  }

  /** Loads model bytes on the best provider that works and runs one warm-up inference. Throws 'model-load-failed'. */
  async load(pointer: ActivePointer, bytes: Uint8Array, directive: InstallDirective | null): Promise<ServedEntry> {
    const plan = this.#deps.planProviders(directive)
    const model = await this.#deps.models.load(bytes, plan.providers)
    try {
      await model.run(buildSyntheticInputs(model.inputs, this.#deps.random))
    } catch (error) {
      await model.close().catch(() => undefined)
      throw new AppError('model-load-failed', `The model loaded but its warm-up inference failed: ${describe(error)}`)
    }
    return { pointer, model, executionProviderFallback: describeFallback(plan, model.loadFailures) }
  }

  async #work(record: InstallRecord, signal: AbortSignal): Promise<InstallEvent> {
    try {
      switch (record.state) {
        case 'accepted':
          return await this.#verifyRelease(record)
        case 'downloading':
          return await this.#fetch(record, signal)
        case 'verified':
          return await this.#promote(record)
        case 'staged':
          return await this.#reverify(record)
        case 'switching':
          return await this.#switch(record, signal)
        case 'trial':
          return await this.#trial(record, signal)
        case 'committing':
          await this.#deps.store.saveCommitted(this.#pointerOf(record))
          return DONE
        case 'rolling-back':
          await this.#rollBack()
          return DONE
        default:
          // rolled-back and failure-reported: their reports are effects of the transitions into them; cleanup's
          // staging removal is the effect of its transition to idle.
          return DONE
      }
    } catch (error) {
      if (error instanceof InstallAbortedError || signal.aborted) throw new InstallAbortedError('install cancelled')
      if (!(error instanceof AppError)) {
        this.#deps.log.error('install step failed unexpectedly', error, { deviceId: this.#deps.deviceId, state: record.state })
        return failed('internal', `The ${record.state} step failed unexpectedly; see the agent log`)
      }
      this.#deps.log.warn('install step failed', { deviceId: this.#deps.deviceId, state: record.state, code: error.code, reason: error.message })
      return failed(error.code, error.message)
    }
  }

  #pointerOf(record: InstallRecord): ActivePointer {
    const { artifact } = record.directive
    return {
      slot: record.targetSlot,
      model: { modelId: artifact.modelId, name: artifact.name, version: artifact.version, sha256: artifact.sha256 },
      sizeBytes: artifact.sizeBytes,
      activatedAt: this.#deps.clock.nowIso(),
    }
  }

  async #verifyRelease(record: InstallRecord): Promise<InstallEvent> {
    const verdict = await this.#deps.verifier.verifyRelease(record.directive)
    return verdict.isTrusted ? DONE : failed(verdict.code, verdict.message)
  }

  async #fetch(record: InstallRecord, signal: AbortSignal): Promise<InstallEvent> {
    const { store } = this.#deps
    const sha256 = record.directive.artifact.sha256
    // A crash after the promotion leaves the verified model in the target slot already (§10.8 VERIFIED/STAGED).
    if ((await store.hashSlot(record.targetSlot)) === sha256) return DONE
    this.#lastProgressStep = -1
    const download = new ChunkDownload(record.directive, {
      deviceId: this.#deps.deviceId,
      link: this.#deps.link,
      store,
      log: this.#deps.log,
      settings: this.#deps.transfer,
      drop: this.#deps.drop,
      onProgress: (fraction) => {
        // One report per 5% step keeps progress visible without a message per chunk on large models.
        const step = Math.floor(fraction * 20)
        if (step === this.#lastProgressStep && fraction < 1) return
        this.#lastProgressStep = step
        this.#deps.report(record, 'downloading', fraction)
      },
    })
    this.#download = download
    try {
      await download.run(signal)
    } finally {
      if (this.#download === download) this.#download = undefined
    }
    this.#freshDownload = sha256
    return DONE
  }

  async #promote(record: InstallRecord): Promise<InstallEvent> {
    const { store } = this.#deps
    const { sha256, sizeBytes } = record.directive.artifact
    if ((await store.hashSlot(record.targetSlot)) === sha256) return DONE
    if (!(await store.hasStaging(sha256))) return failed('artifact-corrupt', 'The verified download is missing from the staging folder')
    // After a restart, re-hash before the rename: a power loss may have damaged the staging file (§10.8 VERIFIED).
    const isFresh = this.#freshDownload === sha256
    this.#freshDownload = undefined
    if (!isFresh && (await store.finishStaging(sha256, sizeBytes)) !== sha256) {
      return failed('artifact-corrupt', 'The staged model no longer matches its SHA-256')
    }
    await store.promoteStaging(sha256, record.targetSlot)
    return DONE
  }

  async #reverify(record: InstallRecord): Promise<InstallEvent> {
    const bytes = await this.#deps.store.readSlotVerified(record.targetSlot, record.directive.artifact.sha256)
    const verdict = await this.#deps.verifier.verifyArtifact(record.directive, bytes)
    if (!verdict.isTrusted) return failed(verdict.code, verdict.message)
    this.#stagedBytes = { sha256: record.directive.artifact.sha256, bytes }
    return DONE
  }

  async #switch(record: InstallRecord, signal: AbortSignal): Promise<InstallEvent> {
    const { store, served } = this.#deps
    const sha256 = record.directive.artifact.sha256
    const staged = this.#stagedBytes
    this.#stagedBytes = undefined
    // Load exactly the bytes that were hashed (anchors-security.md §10.7: re-hash at load).
    const bytes = staged?.sha256 === sha256 ? staged.bytes : await store.readSlotVerified(record.targetSlot, sha256)
    const pointer = this.#pointerOf(record)
    const entry = await this.load(pointer, bytes, record.directive)
    try {
      if (signal.aborted) throw new InstallAbortedError('install cancelled')
      await this.#deps.beforeSwitch()
      await store.saveActive(pointer)
    } catch (error) {
      await entry.model.close().catch(() => undefined)
      throw error
    }
    served.swap(entry)
    this.#deps.log.info('switched to the new model; trial starts', {
      deviceId: this.#deps.deviceId,
      sha256,
      slot: record.targetSlot,
      executionProvider: entry.model.executionProvider,
    })
    return DONE
  }

  /** One inference on the served trial model with synthetic inputs; checks the outputs. */
  async #probe(sha256: string): Promise<HealthVerdict> {
    return this.#deps.served.use(async (entry) => {
      if (entry.pointer.model.sha256 !== sha256) return { isHealthy: false, code: 'health-check-failed', message: 'Another model is being served' }
      const outputs = await entry.model.run(buildSyntheticInputs(entry.model.inputs, this.#deps.random))
      return checkOutputs(outputs, entry.model.outputs)
    })
  }

  async #trial(record: InstallRecord, signal: AbortSignal): Promise<InstallEvent> {
    const { served, health, clock } = this.#deps
    const { sha256, golden } = record.directive.artifact
    const entry = served.current()
    if (entry === null || entry.pointer.model.sha256 !== sha256) {
      return failed('model-load-failed', 'The new model is not being served after the switch (it did not load at start)')
    }
    const first = await this.#probe(sha256)
    if (!first.isHealthy) return failed(first.code, first.message)
    for (const [index, goldenCase] of (golden ?? []).entries()) {
      const verdict = await served.use(async (current): Promise<HealthVerdict> => {
        const prepared = goldenFeeds(goldenCase, current.model.inputs)
        if (!prepared.isUsable) return prepared.verdict
        return compareGolden(await current.model.run(prepared.feeds), goldenCase)
      })
      if (!verdict.isHealthy) return failed(verdict.code, `Golden case ${index + 1}: ${verdict.message}`)
    }
    if (this.#deps.isHealthCheckSabotaged) return failed('health-check-failed', 'Fault injection: this device fails its health check')

    const startedMs = clock.monotonicMs()
    const probeIntervalMs = Math.min(5_000, Math.max(50, health.soakMs / 10))
    let reportedTenth = 0
    for (let elapsedMs = 0; elapsedMs < health.soakMs; elapsedMs = clock.monotonicMs() - startedMs) {
      await pause(Math.min(probeIntervalMs, health.soakMs - elapsedMs), signal)
      const verdict = await this.#probe(sha256).catch((error: unknown): HealthVerdict => ({
        isHealthy: false,
        code: 'health-check-failed',
        message: describe(error),
      }))
      if (!verdict.isHealthy) return failed('soak-failed', `The model stopped serving during its soak period: ${verdict.message}`)
      const tenth = Math.floor(((clock.monotonicMs() - startedMs) / health.soakMs) * 10)
      if (tenth > reportedTenth && tenth < 10) {
        reportedTenth = tenth
        this.#deps.report(record, 'trial', tenth / 10)
      }
    }
    return (await this.#awaitAck(record, signal))
      ? DONE
      : failed('trial-ack-timeout', `The control center did not acknowledge the trial within ${Math.round(health.stepTimeoutMs / 1000)} s`)
  }

  /** Reports the passed trial (progress 1) and waits for the control center's ack; false after the step timeout. */
  #awaitAck(record: InstallRecord, signal: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const finish = (outcome: boolean | Error) => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        if (this.#ackWaiter === waiter) this.#ackWaiter = undefined
        if (outcome instanceof Error) reject(outcome)
        else resolve(outcome)
      }
      const onAbort = () => finish(new InstallAbortedError('install cancelled'))
      const timer = setTimeout(() => finish(false), this.#deps.health.stepTimeoutMs)
      const waiter = { seq: record.directive.seq, sha256: record.directive.artifact.sha256, resolve: () => finish(true) }
      this.#ackWaiter = waiter
      signal.addEventListener('abort', onAbort, { once: true })
      if (signal.aborted) return onAbort()
      // Sent after the waiter exists, so an ack that overtakes the rest of this call is not missed.
      this.#deps.report(record, 'trial', 1)
    })
  }

  /** Points back at the last committed model and serves it again (idempotent; anchors-security.md §10.9). */
  async #rollBack(): Promise<void> {
    const { store, served, log } = this.#deps
    const committed = await store.loadCommitted()
    const current = served.current()
    if (committed === null) {
      await store.clearActive()
      if (current !== null) {
        await this.#deps.beforeSwitch()
        served.swap(null)
      }
      return
    }
    const pointer: ActivePointer = { ...committed, activatedAt: this.#deps.clock.nowIso() }
    if (current?.pointer.model.sha256 === committed.model.sha256 && current.pointer.slot === committed.slot) {
      await store.saveActive(pointer)
      return
    }
    let entry: ServedEntry | null = null
    try {
      entry = await this.load(pointer, await store.readSlotVerified(committed.slot, committed.model.sha256), null)
    } catch (error) {
      log.error('the committed model could not be loaded again; serving no model', undefined, { deviceId: this.#deps.deviceId, reason: describe(error) })
    }
    await store.saveActive(pointer)
    await this.#deps.beforeSwitch()
    served.swap(entry)
    log.info('rolled back to the committed model', { deviceId: this.#deps.deviceId, sha256: committed.model.sha256 })
  }
}

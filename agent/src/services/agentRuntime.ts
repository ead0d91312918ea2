/**
 * One device agent: keeps its link announced (status, sync on every connect, heartbeats), applies directives through
 * the install state machine (accepted → downloading → verified → staged → switching → committed, or failed), runs the
 * active model on a synthetic workload and reports telemetry windows. Never exits on broker or input trouble.
 */
import type { ActiveModel, ExecutionProviderProbe, Hardware, InstallState } from '../../../src-shared/domain/device.ts'
import { AppError } from '../../../src-shared/errors.ts'
import type { Logger } from '../../../src-shared/rpc/types.ts'
import {
  Command,
  Directive,
  type Heartbeat,
  type InstallReport,
  MAX_CONTROL_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  type StatusMessage,
  type SyncRequest,
  type TelemetryWindow,
  encodeMessage,
  parseMessage,
} from '../../../src-shared/protocol/messages.ts'
import { parseDownTopic, topics } from '../../../src-shared/protocol/topics.ts'
import { decideDirective } from '../core/directiveDecision.ts'
import { createSeededRandom, seedFromString } from '../core/seededRandom.ts'
import { buildSyntheticInputs } from '../core/syntheticInput.ts'
import { type TelemetryAccumulator, closeWindow, recordInference, startWindow } from '../core/telemetryWindow.ts'
import type { TensorValue } from '../core/tensorValue.ts'
import type { AgentLink } from '../ports/agentLink.ts'
import type { ActivePointer, AgentState, AgentStore, InstallDirective, Slot } from '../ports/agentStore.ts'
import type { Clock } from '../ports/clock.ts'
import type { LoadedModel, ModelRuntime } from '../ports/modelRuntime.ts'
import { ChunkDownload, InstallAbortedError, type TransferSettings, defaultTransferSettings } from './chunkDownload.ts'

export const AGENT_VERSION = '0.1.0'

/** Telemetry windows kept while the broker is away; older ones are dropped first. */
const MAX_PENDING_WINDOWS = 32

export interface Capabilities {
  hardware: Hardware
  executionProviders: ExecutionProviderProbe[]
}

export interface AgentRuntimeOptions {
  deviceId: string
  link: AgentLink
  store: AgentStore
  models: ModelRuntime
  capabilities: Capabilities
  /** Providers to try when loading a model, best first; only ones the probe found available. */
  preferredProviders: readonly string[]
  clock: Clock
  log: Logger
  readRssBytes: () => number
  heartbeatIntervalMs: number
  telemetryIntervalMs: number
  /** Synthetic inferences per second on the active model; 0 disables the workload. */
  workloadRatePerS: number
  transfer?: Partial<TransferSettings>
  /** Seed of the synthetic-input generator; defaults to one derived from the device id. */
  seed?: number
}

export interface InferenceResult {
  outputs: Record<string, TensorValue>
  latencyMs: number
  modelSha256: string
  executionProvider: string
}

export interface AgentSnapshot {
  deviceId: string
  isConnected: boolean
  active: ActiveModel | null
  executionProvider: string | null
  installState: InstallState
  lastDirectiveSeq: number
  reportSeq: number
  inferenceCount: number
  /** Dropped inbound messages by reason ('too-large', 'schema', 'wrong-device', 'chunk-hash-mismatch', ...). */
  droppedMessages: Record<string, number>
}

interface ActiveSession {
  pointer: ActivePointer
  model: LoadedModel
}

interface InstallJob {
  seq: number
  controller: AbortController
  done: Promise<void>
}

/** States after which a restart has nothing left to do for the recorded install. */
const SETTLED_STATES: readonly InstallState[] = ['idle', 'committed', 'failed', 'rolled-back']

const otherSlot = (slot: Slot): Slot => (slot === 'a' ? 'b' : 'a')

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export class AgentRuntime {
  readonly deviceId: string
  readonly #options: AgentRuntimeOptions
  readonly #transfer: TransferSettings
  readonly #random: () => number
  #state: AgentState = { lastDirectiveSeq: 0, reportSeq: 0, install: null }
  #active: ActiveSession | null = null
  #installState: InstallState = 'idle'
  #window: TelemetryAccumulator
  #pendingWindows: TelemetryWindow[] = []
  #drops = new Map<string, number>()
  #inferenceCount = 0
  #startedAtMs = 0
  #timers: Array<ReturnType<typeof setInterval>> = []
  #installJob: InstallJob | undefined
  #download: ChunkDownload | undefined
  #directiveChain: Promise<void> = Promise.resolve()
  #stateChain: Promise<void> = Promise.resolve()
  #workloadRun: Promise<void> | undefined
  #isClosed = false
  #isStarted = false
  #isSendingWindows = false
  /** Next telemetry reportSeq; kept apart from #state so concurrent state writes cannot hand out a seq twice. */
  #lastReportSeq = 0
  #lastProgressStep = -1

  constructor(options: AgentRuntimeOptions) {
    this.deviceId = options.deviceId
    this.#options = options
    this.#transfer = { ...defaultTransferSettings, ...options.transfer }
    this.#random = createSeededRandom(options.seed ?? seedFromString(options.deviceId))
    this.#window = startWindow(options.clock.nowIso())
  }

  /** Opens the data dir, restores the committed model and any install in flight, then connects. */
  async start(): Promise<void> {
    if (this.#isStarted) return
    this.#isStarted = true
    const { store, link, clock, log } = this.#options
    this.#startedAtMs = clock.monotonicMs()
    await store.open()
    this.#state = await store.loadState()
    this.#lastReportSeq = this.#state.reportSeq
    this.#installState = this.#state.install?.state ?? 'idle'
    await this.#restoreActiveModel()

    link.onConnect(() => void this.#onConnected())
    link.onDisconnect(() => {
      log.warn('disconnected from broker; reconnecting', { deviceId: this.deviceId })
      this.#download?.onDisconnected()
    })
    link.onMessage((topic, payload) => this.#onMessage(topic, payload))

    this.#resumeInstall()
    link.start()
    this.#timers.push(setInterval(() => this.#sendHeartbeat(), this.#options.heartbeatIntervalMs))
    this.#timers.push(setInterval(() => void this.#flushWindow(), this.#options.telemetryIntervalMs))
    if (this.#options.workloadRatePerS > 0) {
      const periodMs = Math.max(1, Math.round(1000 / this.#options.workloadRatePerS))
      this.#timers.push(setInterval(() => this.#runWorkloadOnce(), periodMs))
    }
  }

  /** Stops loops and transfers, publishes the offline status and disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.#isClosed) return
    this.#isClosed = true
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    const job = this.#installJob
    job?.controller.abort()
    await job?.done
    await this.#workloadRun
    await this.#stateChain
    await this.#options.link.close({ topic: topics.status(this.deviceId), payload: encodeMessage(this.#status(false)), retain: true })
    const active = this.#active
    this.#active = null
    await active?.model.close().catch(() => undefined)
  }

  /** Runs one inference on the active model and counts it in the telemetry window. For the local inference API. */
  async infer(feeds: Record<string, TensorValue>): Promise<InferenceResult> {
    const active = this.#active
    if (active === null) throw new AppError('unavailable', 'No model is active on this device yet')
    const startedMs = this.#options.clock.monotonicMs()
    try {
      const outputs = await active.model.run(feeds)
      const latencyMs = this.#options.clock.monotonicMs() - startedMs
      this.#window = recordInference(this.#window, { latencyMs })
      this.#inferenceCount += 1
      return { outputs, latencyMs, modelSha256: active.pointer.model.sha256, executionProvider: active.model.executionProvider }
    } catch (error) {
      this.#window = recordInference(this.#window, { error: true })
      throw error
    }
  }

  snapshot(): AgentSnapshot {
    return {
      deviceId: this.deviceId,
      isConnected: this.#options.link.isConnected(),
      active: this.#active?.pointer.model ?? null,
      executionProvider: this.#active?.model.executionProvider ?? null,
      installState: this.#installState,
      lastDirectiveSeq: this.#state.lastDirectiveSeq,
      reportSeq: this.#state.reportSeq,
      inferenceCount: this.#inferenceCount,
      droppedMessages: Object.fromEntries(this.#drops),
    }
  }

  // ---- connection ---------------------------------------------------------------------------------------------

  async #onConnected(): Promise<void> {
    const { link, log } = this.#options
    log.info('connected to broker', { deviceId: this.deviceId })
    try {
      await link.subscribe(topics.deviceDownFilter(this.deviceId))
      await link.publish(topics.status(this.deviceId), encodeMessage(this.#status(true)), { qos: 1, retain: true })
      await this.#publishSync()
    } catch (error) {
      log.warn('announcing to the broker failed', { deviceId: this.deviceId, reason: describe(error) })
      return
    }
    this.#download?.onConnected()
    await this.#sendPendingWindows()
  }

  #status(isOnline: boolean): StatusMessage {
    return { v: PROTOCOL_VERSION, deviceId: this.deviceId, isOnline, at: this.#options.clock.nowIso() }
  }

  async #publishSync(): Promise<void> {
    const sync: SyncRequest = {
      v: PROTOCOL_VERSION,
      deviceId: this.deviceId,
      agentVersion: AGENT_VERSION,
      hardware: this.#options.capabilities.hardware,
      executionProviders: this.#options.capabilities.executionProviders,
      lastDirectiveSeq: this.#state.lastDirectiveSeq,
      active: this.#active?.pointer.model ?? null,
      executionProvider: this.#active?.model.executionProvider ?? null,
      installState: this.#installState,
      at: this.#options.clock.nowIso(),
    }
    await this.#options.link.publish(topics.sync(this.deviceId), encodeMessage(sync), { qos: 1 })
  }

  #sendHeartbeat(): void {
    if (!this.#options.link.isConnected()) return
    const heartbeat: Heartbeat = {
      v: PROTOCOL_VERSION,
      deviceId: this.deviceId,
      at: this.#options.clock.nowIso(),
      uptimeS: Math.max(0, (this.#options.clock.monotonicMs() - this.#startedAtMs) / 1000),
      rssBytes: this.#options.readRssBytes(),
      active: this.#active?.pointer.model ?? null,
      executionProvider: this.#active?.model.executionProvider ?? null,
      installState: this.#installState,
    }
    this.#options.link.publish(topics.heartbeat(this.deviceId), encodeMessage(heartbeat), { qos: 0 }).catch(() => undefined)
  }

  // ---- inbound messages -----------------------------------------------------------------------------------------

  #drop(reason: string, fields?: Record<string, unknown>): void {
    const count = (this.#drops.get(reason) ?? 0) + 1
    this.#drops.set(reason, count)
    // Powers of ten only, so a flood of bad messages cannot flood the log as well.
    if (Number.isInteger(Math.log10(count))) this.#options.log.warn('dropped inbound message', { deviceId: this.deviceId, reason, count, ...fields })
  }

  #onMessage(topic: string, payload: Uint8Array): void {
    if (this.#isClosed) return
    const down = parseDownTopic(this.deviceId, topic)
    if (down === undefined) {
      this.#drop('unknown-topic', { topic: topic.slice(0, 200) })
      return
    }
    switch (down.kind) {
      case 'desired': {
        const parsed = parseMessage(Directive, payload, MAX_CONTROL_MESSAGE_BYTES)
        if (!parsed.ok) {
          this.#drop(parsed.reason === 'too-large' ? 'too-large' : 'malformed-directive', { detail: parsed.detail })
          return
        }
        const directive = parsed.value
        this.#directiveChain = this.#directiveChain.then(() => this.#handleDirective(directive)).catch((error: unknown) => {
          this.#options.log.error('directive handling failed', error, { deviceId: this.deviceId })
        })
        return
      }
      case 'cmd': {
        const parsed = parseMessage(Command, payload, MAX_CONTROL_MESSAGE_BYTES)
        if (!parsed.ok) {
          this.#drop(parsed.reason === 'too-large' ? 'too-large' : 'malformed-command', { detail: parsed.detail })
          return
        }
        this.#publishSync().catch((error: unknown) => this.#options.log.warn('sync not sent', { reason: describe(error) }))
        return
      }
      case 'chunklist': {
        const download = this.#download
        if (download === undefined || download.sha256 !== down.sha256) {
          this.#drop('unsolicited-chunklist')
          return
        }
        download.handleChunkList(payload)
        return
      }
      case 'chunk': {
        const download = this.#download
        if (download === undefined || download.sha256 !== down.sha256) {
          this.#drop('unsolicited-chunk')
          return
        }
        if (payload.byteLength > download.chunkSizeBytes) {
          this.#drop('too-large', { index: down.index })
          return
        }
        download.handleChunk(down.index, payload)
        return
      }
    }
  }

  async #handleDirective(directive: Directive): Promise<void> {
    if (this.#isClosed) return
    const decision = decideDirective(
      { selfDeviceId: this.deviceId, lastDirectiveSeq: this.#state.lastDirectiveSeq, activeSha256: this.#active?.pointer.model.sha256 ?? null },
      directive,
    )
    if (decision.verdict === 'reject') {
      if (decision.reason === 'wrong-device') this.#drop('wrong-device', { seq: directive.seq })
      // The control center re-sends its current directive on every sync; an already applied seq is not an attack.
      else this.#drops.set('stale-seq', (this.#drops.get('stale-seq') ?? 0) + 1)
      return
    }
    this.#options.log.info('directive accepted', { deviceId: this.deviceId, seq: directive.seq, action: directive.action })
    if (directive.action === 'noop') {
      await this.#updateState((state) => ({ ...state, lastDirectiveSeq: directive.seq }))
      return
    }
    // Anti-replay: the seq is durable before anything acts on the directive (anchors-security.md §10.6 step 3).
    await this.#updateState((state) => ({
      ...state,
      lastDirectiveSeq: directive.seq,
      install: { directive, state: 'accepted', errorCode: null, message: null },
    }))
    if (decision.action === 'already-active') {
      await this.#cancelInstall()
      await this.#report(directive, 'committed', 1)
      return
    }
    this.#startInstall(directive)
  }

  // ---- install --------------------------------------------------------------------------------------------------

  /** Restarts an install a crash or shutdown interrupted (anchors-security.md §10.8 crash mapping). */
  #resumeInstall(): void {
    const record = this.#state.install
    if (record === null || SETTLED_STATES.includes(record.state)) return
    this.#options.log.info('resuming interrupted install', { deviceId: this.deviceId, seq: record.directive.seq, state: record.state })
    this.#startInstall(record.directive)
  }

  async #cancelInstall(): Promise<void> {
    const job = this.#installJob
    if (job === undefined) return
    job.controller.abort()
    await job.done
  }

  /** A newer directive supersedes the install in flight: it is cancelled and awaited before the new one starts. */
  #startInstall(directive: InstallDirective): void {
    const previous = this.#installJob
    previous?.controller.abort()
    const controller = new AbortController()
    const job: InstallJob = {
      seq: directive.seq,
      controller,
      done: (async () => {
        await previous?.done
        if (controller.signal.aborted || this.#isClosed) return
        await this.#runInstall(directive, controller.signal)
      })(),
    }
    this.#installJob = job
    void job.done.finally(() => {
      if (this.#installJob === job) this.#installJob = undefined
    })
  }

  async #runInstall(directive: InstallDirective, signal: AbortSignal): Promise<void> {
    const artifact = directive.artifact
    const { store, log } = this.#options
    const checkAborted = () => {
      if (signal.aborted) throw new InstallAbortedError('install cancelled')
    }
    try {
      if (this.#active?.pointer.model.sha256 === artifact.sha256) {
        await this.#report(directive, 'committed', 1)
        return
      }
      await this.#report(directive, 'accepted', 0)
      const targetSlot: Slot = this.#active === null ? 'a' : otherSlot(this.#active.pointer.slot)
      // A crash after the rename leaves the verified model in the target slot already (§10.8 VERIFIED/STAGED).
      if ((await store.hashSlot(targetSlot)) !== artifact.sha256) {
        await this.#report(directive, 'downloading', 0)
        const download = new ChunkDownload(directive, {
          deviceId: this.deviceId,
          link: this.#options.link,
          store,
          log,
          settings: this.#transfer,
          drop: (reason, fields) => this.#drop(reason, fields),
          onProgress: (fraction) => this.#reportProgress(directive, fraction),
        })
        this.#download = download
        try {
          await download.run(signal)
        } finally {
          if (this.#download === download) this.#download = undefined
        }
        await this.#report(directive, 'verified', 1)
        checkAborted()
        await store.promoteStaging(artifact.sha256, targetSlot)
      }
      await this.#report(directive, 'staged', 1)
      checkAborted()

      // Load exactly the bytes that were hashed (anchors-security.md §10.7: re-hash at load).
      const bytes = await store.readSlotVerified(targetSlot, artifact.sha256)
      const model = await this.#loadAndWarmUp(bytes)
      if (signal.aborted) {
        await model.close()
        throw new InstallAbortedError('install cancelled')
      }
      await this.#report(directive, 'switching', 1)
      const pointer: ActivePointer = {
        slot: targetSlot,
        model: { modelId: artifact.modelId, name: artifact.name, version: artifact.version, sha256: artifact.sha256 },
        sizeBytes: artifact.sizeBytes,
        committedAt: this.#options.clock.nowIso(),
      }
      // Latencies of the old model belong to a window of their own.
      await this.#flushWindow()
      await store.saveActive(pointer)
      const previous = this.#active
      this.#active = { pointer, model }
      await this.#awaitWorkloadRun()
      await previous?.model.close().catch((error: unknown) => log.warn('closing the previous model failed', { reason: describe(error) }))
      log.info('model committed', { deviceId: this.deviceId, sha256: artifact.sha256, executionProvider: model.executionProvider })
      await this.#report(directive, 'committed', 1, { executionProvider: model.executionProvider })
    } catch (error) {
      if (error instanceof InstallAbortedError) {
        log.info('install superseded or cancelled', { deviceId: this.deviceId, seq: directive.seq })
        return
      }
      const wire =
        error instanceof AppError ? error : new AppError('internal', 'The install failed unexpectedly; see the agent log', { seq: directive.seq })
      if (!(error instanceof AppError)) log.error('install failed unexpectedly', error, { deviceId: this.deviceId })
      else log.warn('install failed', { deviceId: this.deviceId, seq: directive.seq, code: wire.code, reason: wire.message })
      if (wire.code === 'artifact-corrupt') await store.discardDownload(artifact.sha256).catch(() => undefined)
      await this.#report(directive, 'failed', 0, { errorCode: wire.code, message: wire.message })
    }
  }

  async #loadAndWarmUp(bytes: Uint8Array): Promise<LoadedModel> {
    const model = await this.#options.models.load(bytes, this.#options.preferredProviders)
    try {
      await model.run(buildSyntheticInputs(model.inputs, this.#random))
    } catch (error) {
      await model.close().catch(() => undefined)
      throw new AppError('model-load-failed', `The model loaded but its warm-up inference failed: ${describe(error)}`)
    }
    return model
  }

  /** Restores the committed model named by active.json, re-hashing it first. A bad file leaves no model active. */
  async #restoreActiveModel(): Promise<void> {
    const { store, log } = this.#options
    const pointer = await store.loadActive()
    if (pointer === null) return
    try {
      const bytes = await store.readSlotVerified(pointer.slot, pointer.model.sha256)
      const model = await this.#loadAndWarmUp(bytes)
      this.#active = { pointer, model }
      log.info('active model restored', { deviceId: this.deviceId, sha256: pointer.model.sha256, executionProvider: model.executionProvider })
    } catch (error) {
      log.error('the committed model could not be restored; running without a model', undefined, {
        deviceId: this.deviceId,
        reason: describe(error),
      })
    }
  }

  #reportProgress(directive: InstallDirective, fraction: number): void {
    // One report per 5% step keeps progress visible without a message per chunk on large models.
    const step = Math.floor(fraction * 20)
    if (step === this.#lastProgressStep && fraction < 1) return
    this.#lastProgressStep = step
    void this.#report(directive, 'downloading', fraction)
  }

  async #report(
    directive: InstallDirective,
    state: InstallState,
    progress: number,
    extra: { errorCode?: string; message?: string; executionProvider?: string } = {},
  ): Promise<void> {
    // A superseded install may still be finishing a step; it must not overwrite the newer install's record.
    const isSuperseded = (install: AgentState['install']) => install !== null && install.directive.seq > directive.seq
    if (isSuperseded(this.#state.install)) return
    this.#installState = state
    if (state !== 'downloading') this.#lastProgressStep = -1
    const record = { directive, state, errorCode: extra.errorCode ?? null, message: extra.message ?? null }
    // A failed write is logged by #updateState; the report still goes out, and the next step retries the write.
    await this.#updateState((current) => (isSuperseded(current.install) ? current : { ...current, install: record })).catch(() => undefined)
    const report: InstallReport = {
      v: PROTOCOL_VERSION,
      deviceId: this.deviceId,
      directiveSeq: directive.seq,
      modelSha256: directive.artifact.sha256,
      state,
      progress: Math.min(1, Math.max(0, progress)),
      errorCode: extra.errorCode ?? null,
      message: extra.message?.slice(0, 500) ?? null,
      executionProvider: extra.executionProvider ?? this.#active?.model.executionProvider ?? null,
      at: this.#options.clock.nowIso(),
    }
    if (!this.#options.link.isConnected()) return
    // The sync after a reconnect carries the latest install state, so a report lost here is recovered there.
    await this.#options.link.publish(topics.report(this.deviceId), encodeMessage(report), { qos: 1 }).catch(() => undefined)
  }

  /** Serializes state writes: each is durable before the next starts, and callers see them in order. */
  #updateState(mutate: (state: AgentState) => AgentState): Promise<void> {
    const next = this.#stateChain.then(async () => {
      const updated = mutate(this.#state)
      await this.#options.store.saveState(updated)
      this.#state = updated
    })
    this.#stateChain = next.catch((error: unknown) => {
      this.#options.log.error('saving agent state failed', error, { deviceId: this.deviceId })
    })
    return next
  }

  // ---- workload and telemetry -----------------------------------------------------------------------------------

  #runWorkloadOnce(): void {
    const active = this.#active
    if (active === null || this.#workloadRun !== undefined || this.#isClosed) return
    let feeds: Record<string, TensorValue>
    try {
      feeds = buildSyntheticInputs(active.model.inputs, this.#random)
    } catch (error) {
      this.#window = recordInference(this.#window, { error: true })
      this.#drop('workload-input-unsupported', { reason: describe(error) })
      return
    }
    this.#workloadRun = this.infer(feeds)
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.#workloadRun = undefined
      })
  }

  async #awaitWorkloadRun(): Promise<void> {
    await this.#workloadRun
  }

  /** Closes the current window, persists the next reportSeq, then publishes (or keeps it until the link is back). */
  async #flushWindow(): Promise<void> {
    if (this.#isClosed) return
    const { closed, next } = closeWindow(this.#window, this.#options.clock.nowIso())
    this.#window = next
    this.#lastReportSeq += 1
    const reportSeq = this.#lastReportSeq
    await this.#updateState((state) => ({ ...state, reportSeq: Math.max(state.reportSeq, reportSeq) })).catch(() => undefined)
    const telemetry: TelemetryWindow = {
      v: PROTOCOL_VERSION,
      deviceId: this.deviceId,
      reportSeq,
      ...closed,
      modelSha256: this.#active?.pointer.model.sha256 ?? null,
      executionProvider: this.#active?.model.executionProvider ?? null,
      rssBytes: this.#options.readRssBytes(),
    }
    this.#pendingWindows.push(telemetry)
    if (this.#pendingWindows.length > MAX_PENDING_WINDOWS) this.#pendingWindows.splice(0, this.#pendingWindows.length - MAX_PENDING_WINDOWS)
    await this.#sendPendingWindows()
  }

  async #sendPendingWindows(): Promise<void> {
    if (this.#isSendingWindows) return
    this.#isSendingWindows = true
    try {
      while (this.#pendingWindows.length > 0 && this.#options.link.isConnected()) {
        const telemetry = this.#pendingWindows[0]
        if (telemetry === undefined) return
        try {
          await this.#options.link.publish(topics.telemetry(this.deviceId), encodeMessage(telemetry), { qos: 1 })
        } catch {
          return
        }
        if (this.#pendingWindows[0] === telemetry) this.#pendingWindows.shift()
      }
    } finally {
      this.#isSendingWindows = false
    }
  }
}

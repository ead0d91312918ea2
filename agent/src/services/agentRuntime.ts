/**
 * One device agent: keeps its link announced (status, sync on every connect, heartbeats), applies directives through
 * the A/B install state machine (core/installMachine.ts, driven by InstallRunner), serves the active model to the
 * local inference API and the synthetic workload, and reports telemetry windows. Never exits on broker or input
 * trouble.
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
import { planExecutionProviders } from '../core/executionProviders.ts'
import {
  type InstallEffect,
  type InstallPhase,
  type InstallRecord,
  type Transition,
  acceptInstall,
  isSettled,
  mayServeUncommitted,
  recoverInstall,
  stepInstall,
  wireState,
} from '../core/installMachine.ts'
import { createSeededRandom, seedFromString } from '../core/seededRandom.ts'
import { buildSyntheticInputs } from '../core/syntheticInput.ts'
import { type OwnedTelemetryAccumulator, closeWindow, countInference, startWindow } from '../core/telemetryWindow.ts'
import type { TensorValue } from '../core/tensorValue.ts'
import type { AgentLink } from '../ports/agentLink.ts'
import { type AgentState, type AgentStore, type InstallDirective, MAX_BAD_RELEASES } from '../ports/agentStore.ts'
import type { Clock } from '../ports/clock.ts'
import type { InferenceResult, InferenceService, ServedModelInfo } from '../ports/inferenceService.ts'
import { type InstallVerifier, integrityOnlyVerifier } from '../ports/installVerifier.ts'
import type { ModelRuntime } from '../ports/modelRuntime.ts'
import { InstallAbortedError, type TransferSettings, defaultTransferSettings } from './chunkDownload.ts'
import { type HealthGateSettings, InstallRunner, defaultHealthGateSettings } from './installRunner.ts'
import { ServedModel } from './servedModel.ts'

export type { InferenceResult }

export const AGENT_VERSION = '0.2.0'

/** Telemetry windows kept while the broker is away; older ones are dropped first. */
const MAX_PENDING_WINDOWS = 32

export interface Capabilities {
  hardware: Hardware
  executionProviders: ExecutionProviderProbe[]
}

/** Fault injection for the simulator and kill tests. */
export interface AgentFaults {
  /** Added to every inference (workload and API), inside the measured latency. */
  extraLatencyMs?: number
  /** Every health check of this device fails. */
  failHealthCheck?: boolean
  /** Call `crash` right after this install state is persisted (a process-level crash for kill tests). */
  crashAtState?: InstallPhase
  crash?: () => void
}

export interface AgentRuntimeOptions {
  deviceId: string
  link: AgentLink
  store: AgentStore
  models: ModelRuntime
  capabilities: Capabilities
  /** This device's execution-provider order, best first (`--execution-providers`); overrides the release's. */
  executionProviderOrder?: readonly string[]
  clock: Clock
  log: Logger
  readRssBytes: () => number
  heartbeatIntervalMs: number
  telemetryIntervalMs: number
  /** Synthetic inferences per second on the active model; 0 disables the workload. */
  workloadRatePerS: number
  /** Synthetic inputs move by `shift` once `afterMs` have passed since start (simulated input drift). */
  drift?: { afterMs: number; shift: number }
  health?: Partial<HealthGateSettings>
  /** Signature checks of releases and artifacts; integrity (hashes) only when absent. */
  verifier?: InstallVerifier
  faults?: AgentFaults
  transfer?: Partial<TransferSettings>
  /** Seed of the synthetic-input generator; defaults to one derived from the device id. */
  seed?: number
}

export interface AgentSnapshot {
  deviceId: string
  isConnected: boolean
  active: ActiveModel | null
  executionProvider: string | null
  executionProviderFallback: string | null
  /** The install state as the control center sees it. */
  installState: InstallState
  /** The state machine's own state, null before the first install. */
  installPhase: InstallPhase | null
  trialCount: number
  lastDirectiveSeq: number
  reportSeq: number
  inferenceCount: number
  badReleases: readonly string[]
  /** Dropped inbound messages by reason ('too-large', 'schema', 'wrong-device', 'chunk-hash-mismatch', ...). */
  droppedMessages: Record<string, number>
}

interface InstallJob {
  controller: AbortController
  done: Promise<void>
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function withBadReleases(badReleases: readonly string[], effects: readonly InstallEffect[]): string[] {
  let next = [...badReleases]
  for (const effect of effects) {
    if (effect.type === 'mark-bad') next = [...next.filter((sha) => sha !== effect.sha256), effect.sha256]
    if (effect.type === 'clear-bad') next = next.filter((sha) => sha !== effect.sha256)
  }
  return next.slice(-MAX_BAD_RELEASES)
}

export class AgentRuntime implements InferenceService {
  readonly deviceId: string
  readonly #options: AgentRuntimeOptions
  readonly #random: () => number
  readonly #served: ServedModel
  readonly #runner: InstallRunner
  readonly #lifetime = new AbortController()
  #state: AgentState = { lastDirectiveSeq: 0, reportSeq: 0, install: null, badReleases: [] }
  #window: OwnedTelemetryAccumulator
  #pendingWindows: TelemetryWindow[] = []
  #drops = new Map<string, number>()
  #inferenceCount = 0
  #startedAtMs = 0
  #timers: Array<ReturnType<typeof setInterval>> = []
  #installJob: InstallJob | undefined
  #directiveChain: Promise<void> = Promise.resolve()
  #stateChain: Promise<void> = Promise.resolve()
  #workloadRun: Promise<void> | undefined
  /** The latest install report, sent again after every reconnect so a report lost offline still arrives. */
  #lastReport: InstallReport | undefined
  #isClosed = false
  #isStarted = false
  #isSendingWindows = false
  /** Next telemetry reportSeq; kept apart from #state so concurrent state writes cannot hand out a seq twice. */
  #lastReportSeq = 0

  constructor(options: AgentRuntimeOptions) {
    this.deviceId = options.deviceId
    this.#options = options
    this.#random = createSeededRandom(options.seed ?? seedFromString(options.deviceId))
    this.#window = startWindow(options.clock.nowIso())
    this.#served = new ServedModel((error) => options.log.warn('closing a replaced model session failed', { reason: describe(error) }))
    this.#runner = new InstallRunner({
      deviceId: options.deviceId,
      store: options.store,
      link: options.link,
      models: options.models,
      served: this.#served,
      verifier: options.verifier ?? integrityOnlyVerifier,
      health: { ...defaultHealthGateSettings, ...options.health },
      isHealthCheckSabotaged: options.faults?.failHealthCheck === true,
      transfer: { ...defaultTransferSettings, ...options.transfer },
      planProviders: (directive) =>
        planExecutionProviders({
          deviceOrder: options.executionProviderOrder,
          releaseOrder: directive?.executionProviders,
          probes: options.capabilities.executionProviders,
        }),
      random: this.#random,
      clock: options.clock,
      log: options.log,
      apply: (transition) => this.#apply(transition),
      report: (record, state, progress) => this.#publishReport(record, state, progress),
      beforeSwitch: () => this.#flushWindow(),
      drop: (reason, fields) => this.#drop(reason, fields),
    })
  }

  /**
   * Opens the data dir, recovers an install a crash interrupted (anchors-security.md §10.8: the recovered state is
   * durable before anything acts on it), restores the served model, then connects.
   */
  async start(): Promise<void> {
    if (this.#isStarted) return
    this.#isStarted = true
    const { store, link, clock, log } = this.#options
    this.#startedAtMs = clock.monotonicMs()
    await store.open()
    this.#state = await store.loadState()
    this.#lastReportSeq = this.#state.reportSeq
    let record = this.#state.install
    if (record !== null && !isSettled(record.state)) {
      const [active, committed] = await Promise.all([store.loadActive(), store.loadCommitted()])
      log.info('recovering an interrupted install', { deviceId: this.deviceId, seq: record.directive.seq, state: record.state })
      const transition = recoverInstall(record, { activeSlot: active?.slot ?? null, committedSha256: committed?.model.sha256 ?? null })
      await this.#apply(transition)
      record = transition.record
    }
    // Sent after the first connect, so the control center learns how the recorded install stands.
    if (record !== null) this.#lastReport ??= this.#reportOf(record, wireState(record), record.state === 'committed' ? 1 : 0)
    // A rollback loads the committed model itself: the served one may be what crashed the agent.
    if (record?.state !== 'rolling-back') await this.#restoreServedModel(record)

    link.onConnect(() => void this.#onConnected())
    link.onDisconnect(() => {
      log.warn('disconnected from broker; reconnecting', { deviceId: this.deviceId })
      this.#runner.download?.onDisconnected()
    })
    link.onMessage((topic, payload) => this.#onMessage(topic, payload))

    if (record !== null && !isSettled(record.state)) this.#startJob(record)
    link.start()
    this.#timers.push(setInterval(() => this.#sendHeartbeat(), this.#options.heartbeatIntervalMs))
    this.#timers.push(setInterval(() => void this.#flushWindow(), this.#options.telemetryIntervalMs))
    if (this.#options.workloadRatePerS > 0) {
      const periodMs = Math.max(1, Math.round(1000 / this.#options.workloadRatePerS))
      this.#timers.push(setInterval(() => this.#runWorkloadOnce(), periodMs))
    }
  }

  /** Stops loops and the install in flight (it resumes on the next start), goes offline, closes sessions. Idempotent. */
  async close(): Promise<void> {
    if (this.#isClosed) return
    this.#isClosed = true
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    this.#lifetime.abort()
    await this.#installJob?.done
    await this.#directiveChain
    await this.#workloadRun
    await this.#stateChain
    await this.#options.link.close({ topic: topics.status(this.deviceId), payload: encodeMessage(this.#status(false)), retain: true })
    await this.#served.close()
  }

  // ---- inference (the local API and the workload) --------------------------------------------------------------

  async infer(feeds: Record<string, TensorValue>, modelName?: string): Promise<InferenceResult> {
    const lease = this.#served.acquire()
    if (lease === null) throw new AppError('unavailable', 'No model is active on this device yet')
    const { entry, release } = lease
    const model = entry.pointer.model
    // A request for another model never reaches one: it is not counted as the model's error.
    if (modelName !== undefined && modelName !== 'active' && modelName !== model.name) {
      release()
      throw new AppError('not-found', `This device serves model ${model.name}, not ${modelName}; use its name or "active"`, { modelName })
    }
    const { clock } = this.#options
    const extraLatencyMs = this.#options.faults?.extraLatencyMs ?? 0
    const startedMs = clock.monotonicMs()
    let outputs: Record<string, TensorValue>
    try {
      if (extraLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, extraLatencyMs))
      outputs = await entry.model.run(feeds)
    } catch (error) {
      countInference(this.#window, { error: true })
      throw error
    } finally {
      release()
    }
    const latencyMs = clock.monotonicMs() - startedMs
    countInference(this.#window, { latencyMs })
    this.#inferenceCount += 1
    return { outputs, latencyMs, modelName: model.name, modelVersion: model.version, modelSha256: model.sha256, executionProvider: entry.model.executionProvider }
  }

  describeModel(modelName: string): ServedModelInfo | null {
    const entry = this.#served.current()
    if (entry === null) return null
    const model = entry.pointer.model
    if (modelName !== 'active' && modelName !== model.name) {
      throw new AppError('not-found', `This device serves model ${model.name}, not ${modelName}; use its name or "active"`, { modelName })
    }
    const install = this.#state.install
    return {
      name: model.name,
      version: model.version,
      sha256: model.sha256,
      modelId: model.modelId,
      inputs: entry.model.inputs,
      outputs: entry.model.outputs,
      executionProvider: entry.model.executionProvider,
      executionProviderFallback: entry.executionProviderFallback,
      isOnTrial: install !== null && mayServeUncommitted(install.state) && install.directive.artifact.sha256 === model.sha256,
    }
  }

  health(): { isServing: boolean; installState: InstallState; isConnected: boolean } {
    return { isServing: this.#served.current() !== null, installState: wireState(this.#state.install), isConnected: this.#options.link.isConnected() }
  }

  snapshot(): AgentSnapshot {
    const entry = this.#served.current()
    const install = this.#state.install
    return {
      deviceId: this.deviceId,
      isConnected: this.#options.link.isConnected(),
      active: entry?.pointer.model ?? null,
      executionProvider: entry?.model.executionProvider ?? null,
      executionProviderFallback: entry?.executionProviderFallback ?? null,
      installState: wireState(install),
      installPhase: install?.state ?? null,
      trialCount: install?.trialCount ?? 0,
      lastDirectiveSeq: this.#state.lastDirectiveSeq,
      reportSeq: this.#state.reportSeq,
      inferenceCount: this.#inferenceCount,
      badReleases: [...this.#state.badReleases],
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
      if (this.#lastReport !== undefined) await link.publish(topics.report(this.deviceId), encodeMessage(this.#lastReport), { qos: 1 })
    } catch (error) {
      log.warn('announcing to the broker failed', { deviceId: this.deviceId, reason: describe(error) })
      return
    }
    this.#runner.download?.onConnected()
    await this.#sendPendingWindows()
  }

  #status(isOnline: boolean): StatusMessage {
    return { v: PROTOCOL_VERSION, deviceId: this.deviceId, isOnline, at: this.#options.clock.nowIso() }
  }

  async #publishSync(): Promise<void> {
    const entry = this.#served.current()
    const sync: SyncRequest = {
      v: PROTOCOL_VERSION,
      deviceId: this.deviceId,
      agentVersion: AGENT_VERSION,
      hardware: this.#options.capabilities.hardware,
      executionProviders: this.#options.capabilities.executionProviders,
      lastDirectiveSeq: this.#state.lastDirectiveSeq,
      active: entry?.pointer.model ?? null,
      executionProvider: entry?.model.executionProvider ?? null,
      installState: wireState(this.#state.install),
      at: this.#options.clock.nowIso(),
    }
    await this.#options.link.publish(topics.sync(this.deviceId), encodeMessage(sync), { qos: 1 })
  }

  #sendHeartbeat(): void {
    if (!this.#options.link.isConnected()) return
    const entry = this.#served.current()
    const heartbeat: Heartbeat = {
      v: PROTOCOL_VERSION,
      deviceId: this.deviceId,
      at: this.#options.clock.nowIso(),
      uptimeS: Math.max(0, (this.#options.clock.monotonicMs() - this.#startedAtMs) / 1000),
      rssBytes: this.#options.readRssBytes(),
      active: entry?.pointer.model ?? null,
      executionProvider: entry?.model.executionProvider ?? null,
      installState: wireState(this.#state.install),
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
        const command = parsed.value
        if (command.type === 'trial-ack') {
          if (!this.#runner.acknowledgeTrial(command.directiveSeq, command.modelSha256)) this.#drop('unsolicited-trial-ack', { seq: command.directiveSeq })
          return
        }
        this.#publishSync().catch((error: unknown) => this.#options.log.warn('sync not sent', { reason: describe(error) }))
        return
      }
      case 'chunklist': {
        const download = this.#runner.download
        if (download === undefined || download.sha256 !== down.sha256) {
          this.#drop('unsolicited-chunklist')
          return
        }
        download.handleChunkList(payload)
        return
      }
      case 'chunk': {
        const download = this.#runner.download
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
    const decision = decideDirective({ selfDeviceId: this.deviceId, lastDirectiveSeq: this.#state.lastDirectiveSeq }, directive)
    if (decision.verdict === 'reject') {
      if (decision.reason === 'wrong-device') this.#drop('wrong-device', { seq: directive.seq })
      // The control center re-sends its current directive on every sync; an already applied seq is not an attack.
      else this.#drops.set('stale-seq', (this.#drops.get('stale-seq') ?? 0) + 1)
      return
    }
    this.#options.log.info('directive accepted', { deviceId: this.deviceId, seq: directive.seq, action: directive.action })
    // Anti-replay: the seq is durable before anything acts on the directive (anchors-security.md §10.6 step 3).
    await this.#updateState((state) => ({ ...state, lastDirectiveSeq: directive.seq }))
    if (directive.action === 'noop') return
    await this.#supersedeInstall()
    if (this.#isClosed) return
    const committed = await this.#options.store.loadCommitted()
    const transition = acceptInstall(directive, {
      committed: committed === null ? null : { sha256: committed.model.sha256, slot: committed.slot },
      badReleases: this.#state.badReleases,
    })
    await this.#apply(transition)
    if (!isSettled(transition.record.state)) this.#startJob(transition.record)
  }

  // ---- install --------------------------------------------------------------------------------------------------

  /** Stops the install in flight; one past the switch is rolled back first, so the new one starts from committed. */
  async #supersedeInstall(): Promise<void> {
    const job = this.#installJob
    job?.controller.abort()
    await job?.done
    const record = this.#state.install
    if (record === null || isSettled(record.state)) return
    const transition = stepInstall(record, { type: 'superseded' })
    await this.#apply(transition)
    if (isSettled(transition.record.state)) return
    try {
      await this.#runner.drive(transition.record, this.#lifetime.signal)
    } catch (error) {
      if (!(error instanceof InstallAbortedError)) throw error
    }
  }

  #startJob(record: InstallRecord): void {
    const controller = new AbortController()
    const signal = AbortSignal.any([controller.signal, this.#lifetime.signal])
    const job: InstallJob = {
      controller,
      done: this.#runner.drive(record, signal).then(
        (settled) => this.#options.log.info('install settled', { deviceId: this.deviceId, seq: settled.directive.seq, state: settled.state }),
        (error: unknown) => {
          if (error instanceof InstallAbortedError) this.#options.log.info('install paused or superseded', { deviceId: this.deviceId, seq: record.directive.seq })
          else this.#options.log.error('install stopped: its state could not be saved', error, { deviceId: this.deviceId })
        },
      ),
    }
    this.#installJob = job
    void job.done.finally(() => {
      if (this.#installJob === job) this.#installJob = undefined
    })
  }

  /** Persists a transition (durably, first), then carries out its effects. */
  async #apply(transition: Transition): Promise<void> {
    const { record, effects } = transition
    await this.#updateState((state) => ({ ...state, install: record, badReleases: withBadReleases(state.badReleases, effects) }))
    const faults = this.#options.faults
    if (faults?.crashAtState === record.state) {
      this.#options.log.warn('fault injection: crashing after persisting this state', { deviceId: this.deviceId, state: record.state })
      faults.crash?.()
    }
    for (const effect of effects) {
      if (effect.type === 'report') this.#publishReport(record, effect.state, effect.progress)
      if (effect.type === 'discard-staging') {
        await this.#options.store.discardDownload(effect.sha256).catch((error: unknown) => {
          this.#options.log.warn('removing staging files failed', { deviceId: this.deviceId, reason: describe(error) })
        })
      }
    }
  }

  /** Loads the model the active pointer names (re-hashing it first). A bad file leaves no model served. */
  async #restoreServedModel(record: InstallRecord | null): Promise<void> {
    const { store, log } = this.#options
    const pointer = await store.loadActive()
    if (pointer === null) return
    const directive: InstallDirective | null = record?.directive.artifact.sha256 === pointer.model.sha256 ? record.directive : null
    try {
      const bytes = await store.readSlotVerified(pointer.slot, pointer.model.sha256)
      const entry = await this.#runner.load(pointer, bytes, directive)
      this.#served.swap(entry)
      log.info('active model restored', { deviceId: this.deviceId, sha256: pointer.model.sha256, executionProvider: entry.model.executionProvider })
    } catch (error) {
      log.error('the active model could not be restored; serving no model', undefined, { deviceId: this.deviceId, reason: describe(error) })
    }
  }

  #reportOf(record: InstallRecord, state: InstallState, progress: number): InstallReport {
    const entry = this.#served.current()
    const fallback = entry?.executionProviderFallback ?? null
    const isServingIt = entry?.pointer.model.sha256 === record.directive.artifact.sha256
    return {
      v: PROTOCOL_VERSION,
      deviceId: this.deviceId,
      directiveSeq: record.directive.seq,
      modelSha256: record.directive.artifact.sha256,
      state,
      progress: Math.min(1, Math.max(0, progress)),
      errorCode: record.errorCode,
      // The fallback reason rides in the message too, which the control center already shows.
      message: (record.message ?? (isServingIt && fallback !== null ? `Running on ${entry.model.executionProvider}: ${fallback}` : null))?.slice(0, 500) ?? null,
      executionProvider: entry?.model.executionProvider ?? null,
      executionProviderFallback: fallback,
      at: this.#options.clock.nowIso(),
    }
  }

  #publishReport(record: InstallRecord, state: InstallState, progress: number): void {
    // A superseded install may still report progress; it must not replace the newer install's report.
    const current = this.#state.install
    if (current !== null && current.directive.seq > record.directive.seq) return
    const report = this.#reportOf(record, state, progress)
    this.#lastReport = report
    if (!this.#options.link.isConnected()) return
    // The report is sent again after the next connect, so one lost here is recovered there.
    this.#options.link.publish(topics.report(this.deviceId), encodeMessage(report), { qos: 1 }).catch(() => undefined)
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
    const entry = this.#served.current()
    if (entry === null || this.#workloadRun !== undefined || this.#isClosed) return
    const drift = this.#options.drift
    const elapsedMs = this.#options.clock.monotonicMs() - this.#startedAtMs
    const shift = drift !== undefined && elapsedMs >= drift.afterMs ? drift.shift : 0
    let feeds: Record<string, TensorValue>
    try {
      feeds = buildSyntheticInputs(entry.model.inputs, this.#random, shift)
    } catch (error) {
      countInference(this.#window, { error: true })
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

  /** Closes the current window, persists the next reportSeq, then publishes (or keeps it until the link is back). */
  async #flushWindow(): Promise<void> {
    if (this.#isClosed) return
    const { closed, next } = closeWindow(this.#window, this.#options.clock.nowIso())
    this.#window = next
    this.#lastReportSeq += 1
    const reportSeq = this.#lastReportSeq
    await this.#updateState((state) => ({ ...state, reportSeq: Math.max(state.reportSeq, reportSeq) })).catch(() => undefined)
    const entry = this.#served.current()
    const telemetry: TelemetryWindow = {
      v: PROTOCOL_VERSION,
      deviceId: this.deviceId,
      reportSeq,
      ...closed,
      modelSha256: entry?.pointer.model.sha256 ?? null,
      executionProvider: entry?.model.executionProvider ?? null,
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

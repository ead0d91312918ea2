/**
 * Handles everything devices publish (topics.allUpFilter): presence, identity, install progress, telemetry and
 * artifact piece requests. Every payload is size-capped and schema-checked before use; a bad message is dropped and
 * counted by reason, never allowed to stop the service.
 */
import type { ActiveModel } from '../../src-shared/domain/device.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import {
  Heartbeat,
  InstallReport,
  MAX_CONTROL_MESSAGE_BYTES,
  MAX_TELEMETRY_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  PieceRequest,
  StatusMessage,
  SyncRequest,
  TelemetryWindow,
  encodeMessage,
  parseMessage,
  type Command,
  type Directive,
  type ParseResult,
} from '../../src-shared/protocol/messages.ts'
import { parseUpTopic, topics, type UpKind } from '../../src-shared/protocol/topics.ts'
import { chunkRange } from '../core/artifacts/chunkList.ts'
import {
  applyHeartbeat,
  applyInstallReport,
  applyStatus,
  applySync,
  applyTelemetryWindow,
  isStaleReport,
  newDeviceRecord,
  toDeviceSummary,
  type DeviceRecord,
} from '../core/fleet/deviceRecord.ts'
import type { Clock } from '../ports/Clock.ts'
import type { DeviceRepository } from '../ports/DeviceRepository.ts'
import type { DirectiveRepository } from '../ports/DirectiveRepository.ts'
import type { MessageBus } from '../ports/MessageBus.ts'
import type { ModelRepository } from '../ports/ModelRepository.ts'
import type { ModelStore } from '../ports/ModelStore.ts'
import type { Notifier } from '../ports/Notifier.ts'
import type { TelemetryRepository } from '../ports/TelemetryRepository.ts'

/** Why a message was not acted upon. 'duplicate-telemetry' is a redelivery, stored once and counted here too. */
export type DropReason =
  | 'unknown-topic'
  | 'too-large'
  | 'not-json'
  | 'schema'
  | 'device-mismatch'
  | 'stale-report'
  | 'duplicate-telemetry'
  | 'unknown-artifact'
  | 'chunk-out-of-range'
  | 'handler-failed'

export interface FleetServiceOptions {
  devices: DeviceRepository
  models: ModelRepository
  directives: DirectiveRepository
  telemetry: TelemetryRepository
  store: ModelStore
  bus: MessageBus
  clock: Clock
  notifier: Notifier
  log: Logger
}

const encoder = new TextEncoder()
/** Log the first drop of each reason, then every 1000th, so a misbehaving device cannot flood the log. */
const LOG_EVERY_NTH_DROP = 1000

export function createFleetService(options: FleetServiceOptions) {
  const { devices, models, directives, telemetry, store, bus, clock, notifier, log } = options
  const dropCounts = new Map<DropReason, number>()
  // Messages of one device are handled in arrival order (a report must not overtake the sync before it); devices
  // proceed independently of each other.
  const queues = new Map<string, Promise<void>>()
  const nowIso = () => new Date(clock.nowMs()).toISOString()

  function drop(reason: DropReason, fields: Record<string, unknown>): void {
    const count = (dropCounts.get(reason) ?? 0) + 1
    dropCounts.set(reason, count)
    if (reason === 'duplicate-telemetry') return
    if (count === 1 || count % LOG_EVERY_NTH_DROP === 0) log.warn(`Dropped an MQTT message (${reason})`, { ...fields, count })
  }

  function parsed<T>(result: ParseResult<T>, topicDeviceId: string, topic: string): T | undefined {
    if (!result.ok) {
      drop(result.reason, { topic, detail: result.detail })
      return undefined
    }
    const value = result.value as T & { deviceId: string }
    if (value.deviceId !== topicDeviceId) {
      drop('device-mismatch', { topic, payloadDeviceId: value.deviceId })
      return undefined
    }
    return value
  }

  /** Immediate: state the protocol or an operator acts on (presence, identity, install progress). */
  async function changeDevice(deviceId: string, change: (record: DeviceRecord) => DeviceRecord): Promise<void> {
    const stored = await devices.update(deviceId, (record) => change(record ?? newDeviceRecord(deviceId)))
    if (stored) notifier.deviceChanged(toDeviceSummary(stored))
  }

  // Batches already holding a change of the device: one device.changed per device per batch, with the batch's result.
  const notifyingBatches = new WeakSet<Promise<DeviceRecord | undefined>>()

  /**
   * Coalesced: lastSeenAt and the latency summary change with every heartbeat and telemetry window; a synced commit
   * for each would cap ingest, so they are written per batch. Not awaited: the device's next message need not wait
   * for the batch, and the repository keeps the order with later immediate changes.
   */
  function changeDeviceSoon(deviceId: string, change: (record: DeviceRecord) => DeviceRecord): void {
    const stored = devices.updateSoon(deviceId, (record) => change(record ?? newDeviceRecord(deviceId)))
    if (notifyingBatches.has(stored)) return
    notifyingBatches.add(stored)
    stored.then(
      (record) => {
        if (record) notifier.deviceChanged(toDeviceSummary(record))
      },
      (error: unknown) => {
        drop('handler-failed', { deviceId })
        log.error('Storing a device update failed', error, { deviceId })
      },
    )
  }

  async function publishDirective(directive: Directive): Promise<void> {
    await bus.publish(topics.desired(directive.deviceId), encodeMessage(directive), { qos: 1 })
  }

  async function handle(deviceId: string, kind: UpKind, topic: string, payload: Uint8Array): Promise<void> {
    switch (kind) {
      case 'status': {
        const status = parsed(parseMessage(StatusMessage, payload, MAX_CONTROL_MESSAGE_BYTES), deviceId, topic)
        if (status) await changeDevice(deviceId, (record) => applyStatus(record, status, nowIso()))
        return
      }
      case 'sync': {
        const sync = parsed(parseMessage(SyncRequest, payload, MAX_CONTROL_MESSAGE_BYTES), deviceId, topic)
        if (!sync) return
        await changeDevice(deviceId, (record) => applySync(record, sync, nowIso()))
        // AWS `$next` semantics: the answer to every sync is the current directive (a noop when there is none).
        const directive: Directive = (await directives.latest(deviceId)) ?? {
          v: PROTOCOL_VERSION,
          deviceId,
          seq: 0,
          issuedAt: nowIso(),
          action: 'noop',
        }
        await publishDirective(directive)
        return
      }
      case 'heartbeat': {
        const heartbeat = parsed(parseMessage(Heartbeat, payload, MAX_CONTROL_MESSAGE_BYTES), deviceId, topic)
        if (!heartbeat) return
        // Received now, stored with the batch: the time is taken now.
        const at = nowIso()
        changeDeviceSoon(deviceId, (record) => applyHeartbeat(record, heartbeat, at))
        return
      }
      case 'telemetry': {
        const window = parsed(parseMessage(TelemetryWindow, payload, MAX_TELEMETRY_MESSAGE_BYTES), deviceId, topic)
        if (!window) return
        const receivedAt = nowIso()
        const isNew = await telemetry.insert(window, receivedAt)
        if (!isNew) return drop('duplicate-telemetry', { deviceId, reportSeq: window.reportSeq })
        changeDeviceSoon(deviceId, (record) => applyTelemetryWindow(record, window, receivedAt))
        return
      }
      case 'report': {
        const report = parsed(parseMessage(InstallReport, payload, MAX_CONTROL_MESSAGE_BYTES), deviceId, topic)
        if (!report) return
        const latest = await directives.latest(deviceId)
        if (isStaleReport(report.directiveSeq, latest?.seq)) {
          return drop('stale-report', { deviceId, directiveSeq: report.directiveSeq, latestSeq: latest?.seq })
        }
        let committedModel: ActiveModel | undefined
        if (report.state === 'committed' && report.modelSha256 !== null) {
          const model = await models.getBySha256(report.modelSha256)
          if (model) committedModel = { modelId: model.modelId, name: model.name, version: model.version, sha256: model.sha256 }
        }
        await changeDevice(deviceId, (record) => applyInstallReport(record, report, committedModel, nowIso()))
        // Progress 1 in 'trial': the device's local health checks passed and it waits for this ack to commit. The ack
        // proves the path back to the control center works after the switch (anchors-security.md §10.8).
        if (report.state === 'trial' && report.progress === 1 && latest?.action === 'install' && latest.seq === report.directiveSeq) {
          if (latest.artifact.sha256 !== report.modelSha256) return drop('device-mismatch', { deviceId, directiveSeq: report.directiveSeq })
          const ack: Command = { v: PROTOCOL_VERSION, type: 'trial-ack', directiveSeq: latest.seq, modelSha256: latest.artifact.sha256 }
          await bus.publish(topics.command(deviceId), encodeMessage(ack), { qos: 1 })
        }
        return
      }
      case 'req': {
        // Piece requests leave lastSeenAt alone: updating it would cost a synced database write per chunk.
        const request = parsed(parseMessage(PieceRequest, payload, MAX_CONTROL_MESSAGE_BYTES), deviceId, topic)
        if (!request) return
        const model = await models.getBySha256(request.sha256)
        // A device may fetch only artifacts it was told to install, so a device cannot pull other customers' models.
        if (!model || !(await directives.hasIssuedArtifact(deviceId, request.sha256))) {
          return drop('unknown-artifact', { deviceId, sha256: request.sha256 })
        }
        if (request.piece === 'chunklist') {
          await bus.publish(topics.chunkList(deviceId, model.sha256), encoder.encode(model.chunkListJson), { qos: 1 })
          return
        }
        const range = chunkRange(request.index, model.sizeBytes, model.chunkSizeBytes)
        if (!range) return drop('chunk-out-of-range', { deviceId, sha256: request.sha256, index: request.index })
        const bytes = await store.readRange(model.sha256, range.offsetBytes, range.lengthBytes)
        await bus.publish(topics.chunk(deviceId, model.sha256, request.index), bytes, { qos: 1 })
        return
      }
    }
  }

  function enqueue(deviceId: string, work: () => Promise<void>): Promise<void> {
    const previous = queues.get(deviceId) ?? Promise.resolve()
    const next = previous.then(work).catch((error: unknown) => {
      drop('handler-failed', { deviceId })
      log.error('Handling a device message failed', error, { deviceId })
    })
    queues.set(deviceId, next)
    void next.then(() => {
      if (queues.get(deviceId) === next) queues.delete(deviceId)
    })
    return next
  }

  function handleMessage(topic: string, payload: Uint8Array): Promise<void> {
    const parsedTopic = parseUpTopic(topic)
    if (!parsedTopic) {
      drop('unknown-topic', { topic: topic.slice(0, 200) })
      return Promise.resolve()
    }
    const { deviceId, kind } = parsedTopic
    return enqueue(deviceId, () => handle(deviceId, kind, topic, payload))
  }

  let stopListening: (() => void) | undefined
  function stop(): void {
    stopListening?.()
    stopListening = undefined
  }
  async function idle(): Promise<void> {
    do {
      while (queues.size > 0) await Promise.all([...queues.values()])
      await devices.flush()
    } while (queues.size > 0)
  }

  return {
    /** Starts consuming the bus; subscribe the bus to topics.allUpFilter after this, so retained status is seen. */
    start(): void {
      stopListening ??= bus.onMessage((topic, payload) => void handleMessage(topic, payload))
    },
    /** Stops consuming; messages already queued still finish (await idle()). */
    stop,
    /** Handles one message; exposed so tests can drive the service without a broker. */
    handleMessage,
    /** Resolves when every queued message has been handled and its device changes are committed. */
    idle,
    /** Stops consuming and commits everything handled so far; call before closing the database. */
    async close(): Promise<void> {
      stop()
      await idle()
    },
    /** How many messages were dropped, by reason. */
    droppedMessageCounts(): Partial<Record<DropReason, number>> {
      return Object.fromEntries(dropCounts)
    },
  }
}

export type FleetService = ReturnType<typeof createFleetService>

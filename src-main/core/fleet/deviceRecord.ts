/**
 * How device state changes when a device speaks. Pure: each function takes the stored record, the parsed message and
 * the receive time, and returns the next record. The sqlite adapter applies them inside one transaction.
 */
import type { ActiveModel, DeviceSummary, LatencySummary } from '../../../src-shared/domain/device.ts'
import type { Heartbeat, InstallReport, StatusMessage, SyncRequest, TelemetryWindow } from '../../../src-shared/protocol/messages.ts'
import { latencyQuantileMs } from '../../../src-shared/protocol/latencyHistogram.ts'

/** A device as stored: the public summary plus what never leaves the control center. */
export interface DeviceRecord extends DeviceSummary {
  /** scrypt hash of the broker password (see adapters/crypto); null for devices seen only on an external broker. */
  passwordHash: string | null
  enrolledAt: string | null
  /** Highest directive sequence the device said it accepted; the next directive goes above it. */
  reportedDirectiveSeq: number
  /** Device-side time of the last applied status message, so an old last will cannot undo a newer 'online'. */
  statusAt: string | null
}

export function newDeviceRecord(deviceId: string): DeviceRecord {
  return {
    deviceId,
    isOnline: false,
    firstSeenAt: null,
    lastSeenAt: null,
    agentVersion: null,
    hardware: null,
    executionProviders: [],
    executionProvider: null,
    activeModel: null,
    desiredModelId: null,
    install: { state: 'idle', progress: 0, errorCode: null, message: null },
    latency: null,
    passwordHash: null,
    enrolledAt: null,
    reportedDirectiveSeq: 0,
    statusAt: null,
  }
}

/** The summary the UI and CLI see: the record without its secrets and bookkeeping. */
export function toDeviceSummary(record: DeviceRecord): DeviceSummary {
  const { passwordHash: _passwordHash, enrolledAt: _enrolledAt, reportedDirectiveSeq: _seq, statusAt: _statusAt, ...summary } = record
  return summary
}

export function applyEnrollment(record: DeviceRecord | undefined, deviceId: string, passwordHash: string, at: string): DeviceRecord {
  return { ...(record ?? newDeviceRecord(deviceId)), passwordHash, enrolledAt: at }
}

/** Any message the device itself sent proves it is reachable now. */
function seen(record: DeviceRecord, at: string): DeviceRecord {
  return { ...record, isOnline: true, firstSeenAt: record.firstSeenAt ?? at, lastSeenAt: at }
}

export function applyStatus(record: DeviceRecord, status: StatusMessage, at: string): DeviceRecord {
  if (record.statusAt !== null && Date.parse(status.at) < Date.parse(record.statusAt)) return record
  const next = { ...record, statusAt: status.at }
  return status.isOnline ? seen(next, at) : { ...next, isOnline: false }
}

export function applySync(record: DeviceRecord, sync: SyncRequest, at: string): DeviceRecord {
  return {
    ...seen(record, at),
    agentVersion: sync.agentVersion,
    hardware: sync.hardware,
    executionProviders: sync.executionProviders,
    executionProvider: sync.executionProvider,
    activeModel: sync.active,
    reportedDirectiveSeq: Math.max(record.reportedDirectiveSeq, sync.lastDirectiveSeq),
    install: sync.installState === record.install.state ? record.install : { ...record.install, state: sync.installState },
  }
}

export function applyHeartbeat(record: DeviceRecord, heartbeat: Heartbeat, at: string): DeviceRecord {
  return { ...seen(record, at), activeModel: heartbeat.active, executionProvider: heartbeat.executionProvider }
}

/**
 * A report older than the device's latest directive describes work that was superseded; applying it would show the
 * old install's progress. Reports above the latest stored directive are kept (the database may have been replaced).
 */
export function isStaleReport(reportDirectiveSeq: number, latestDirectiveSeq: number | undefined): boolean {
  return latestDirectiveSeq !== undefined && reportDirectiveSeq < latestDirectiveSeq
}

/** `committedModel` is the model the report's sha256 names, when the report says 'committed' and the model is known. */
export function applyInstallReport(
  record: DeviceRecord,
  report: InstallReport,
  committedModel: ActiveModel | undefined,
  at: string,
): DeviceRecord {
  const isCommitted = report.state === 'committed'
  return {
    ...seen(record, at),
    reportedDirectiveSeq: Math.max(record.reportedDirectiveSeq, report.directiveSeq),
    install: {
      state: report.state,
      progress: isCommitted ? 1 : report.progress,
      errorCode: report.errorCode,
      message: report.message,
    },
    activeModel: isCommitted && committedModel ? committedModel : record.activeModel,
    executionProvider: report.executionProvider ?? record.executionProvider,
  }
}

/** Rounded to microseconds so stored values stay readable; buckets are ~19% wide anyway. */
const roundMs = (valueMs: number) => Math.round(valueMs * 1000) / 1000

export function latencySummaryFromWindow(window: TelemetryWindow): LatencySummary {
  return {
    p50Ms: roundMs(latencyQuantileMs(window.latencyCounts, 0.5)),
    p95Ms: roundMs(latencyQuantileMs(window.latencyCounts, 0.95)),
    p99Ms: roundMs(latencyQuantileMs(window.latencyCounts, 0.99)),
    requestCount: window.requestCount,
    errorCount: window.errorCount,
    windowEndAt: window.windowEndAt,
  }
}

/** The summary shows the newest window; a late, older window (QoS 1 redelivery) never replaces it. */
export function applyTelemetryWindow(record: DeviceRecord, window: TelemetryWindow, at: string): DeviceRecord {
  const next = { ...seen(record, at), executionProvider: window.executionProvider ?? record.executionProvider }
  if (record.latency && Date.parse(window.windowEndAt) < Date.parse(record.latency.windowEndAt)) return next
  return { ...next, latency: latencySummaryFromWindow(window) }
}

/**
 * Directive sequence numbers only grow per device. The device's own report counts too: after a database restore the
 * stored maximum can be below what the device already accepted, and a lower number would be ignored by the agent.
 */
export function nextDirectiveSeq(storedMaxSeq: number, reportedSeq: number): number {
  return Math.max(storedMaxSeq, reportedSeq) + 1
}

/** Builders for the messages an agent publishes, for tests of the control center (anchors-aesthetics.md §4.8). */
import { emptyLatencyCounts, latencyBucketIndex } from '../../../src-shared/protocol/latencyHistogram.ts'
import type { Heartbeat, InstallReport, PieceRequest, StatusMessage, SyncRequest, TelemetryWindow } from '../../../src-shared/protocol/messages.ts'

export const anInstant = (offsetS = 0) => new Date(Date.UTC(2025, 0, 1, 0, 0, offsetS)).toISOString()

export function aStatus(deviceId: string, overrides: Partial<StatusMessage> = {}): StatusMessage {
  return { v: 1, deviceId, isOnline: true, at: anInstant(), ...overrides }
}

export function aSync(deviceId: string, overrides: Partial<SyncRequest> = {}): SyncRequest {
  return {
    v: 1,
    deviceId,
    agentVersion: '0.1.0',
    hardware: {
      arch: 'x64', platform: 'linux', osRelease: '6.8.0', hostname: `${deviceId}.local`, cpuModel: 'Test CPU', cpuCount: 4,
      memoryBytes: 8 * 1024 ** 3, accelerators: [],
    },
    executionProviders: [{ name: 'cpu', isAvailable: true }],
    lastDirectiveSeq: 0,
    active: null,
    executionProvider: null,
    installState: 'idle',
    at: anInstant(),
    ...overrides,
  }
}

export function aHeartbeat(deviceId: string, overrides: Partial<Heartbeat> = {}): Heartbeat {
  return { v: 1, deviceId, at: anInstant(), uptimeS: 10, rssBytes: 1024, active: null, executionProvider: 'cpu', installState: 'idle', ...overrides }
}

/** A window of `requestCount` requests: 90% at ~2 ms, 10% at ~40 ms. */
export function aTelemetryWindow(deviceId: string, overrides: Partial<TelemetryWindow> = {}): TelemetryWindow {
  const requestCount = overrides.requestCount ?? 100
  const latencyCounts = emptyLatencyCounts()
  latencyCounts[latencyBucketIndex(2)] = Math.round(requestCount * 0.9)
  latencyCounts[latencyBucketIndex(40)] = requestCount - Math.round(requestCount * 0.9)
  return {
    v: 1, deviceId, reportSeq: 1, windowStartAt: anInstant(0), windowEndAt: anInstant(10), modelSha256: null,
    executionProvider: 'cpu', requestCount, errorCount: 0, latencyCounts, rssBytes: 4096, ...overrides,
  }
}

export function anInstallReport(deviceId: string, overrides: Partial<InstallReport> = {}): InstallReport {
  return {
    v: 1, deviceId, directiveSeq: 1, modelSha256: null, state: 'downloading', progress: 0, errorCode: null, message: null,
    executionProvider: null, at: anInstant(), ...overrides,
  }
}

export function aChunkListRequest(deviceId: string, sha256: string): PieceRequest {
  return { v: 1, deviceId, piece: 'chunklist', sha256 }
}

export function aChunkRequest(deviceId: string, sha256: string, index: number): PieceRequest {
  return { v: 1, deviceId, piece: 'chunk', sha256, index }
}

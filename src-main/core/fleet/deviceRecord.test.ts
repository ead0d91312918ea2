import { describe, expect, it } from 'vitest'
import { emptyLatencyCounts, latencyBucketIndex } from '../../../src-shared/protocol/latencyHistogram.ts'
import type { InstallReport, SyncRequest, TelemetryWindow } from '../../../src-shared/protocol/messages.ts'
import {
  applyInstallReport,
  applyStatus,
  applySync,
  applyTelemetryWindow,
  isStaleReport,
  newDeviceRecord,
  nextDirectiveSeq,
  toDeviceSummary,
} from './deviceRecord.ts'

const at = '2025-01-01T00:00:10.000Z'
const model = { modelId: 'm-0123456789ab', name: 'tiny', version: '1', sha256: 'a'.repeat(64) }

function aWindow(overrides: Partial<TelemetryWindow> = {}): TelemetryWindow {
  const latencyCounts = emptyLatencyCounts()
  latencyCounts[latencyBucketIndex(2)] = 90
  latencyCounts[latencyBucketIndex(40)] = 10
  return {
    v: 1, deviceId: 'd-1', reportSeq: 1, windowStartAt: '2025-01-01T00:00:00.000Z', windowEndAt: '2025-01-01T00:00:10.000Z',
    modelSha256: model.sha256, executionProvider: 'cpu', requestCount: 100, errorCount: 1, latencyCounts, rssBytes: 1, ...overrides,
  }
}

function aReport(overrides: Partial<InstallReport> = {}): InstallReport {
  return {
    v: 1, deviceId: 'd-1', directiveSeq: 3, modelSha256: model.sha256, state: 'downloading', progress: 0.5,
    errorCode: null, message: null, executionProvider: null, at, ...overrides,
  }
}

describe('device record transitions', () => {
  it('keeps secrets out of the summary', () => {
    const summary = toDeviceSummary({ ...newDeviceRecord('d-1'), passwordHash: 'scrypt$x' })
    expect(summary).not.toHaveProperty('passwordHash')
    expect(summary).not.toHaveProperty('reportedDirectiveSeq')
    expect(summary.deviceId).toBe('d-1')
  })

  it('ignores a last will older than the latest online status', () => {
    const online = applyStatus(newDeviceRecord('d-1'), { v: 1, deviceId: 'd-1', isOnline: true, at: '2025-01-01T00:00:05.000Z' }, at)
    const staleWill = applyStatus(online, { v: 1, deviceId: 'd-1', isOnline: false, at: '2025-01-01T00:00:01.000Z' }, at)
    expect(staleWill.isOnline).toBe(true)
    const freshWill = applyStatus(online, { v: 1, deviceId: 'd-1', isOnline: false, at: '2025-01-01T00:00:06.000Z' }, at)
    expect(freshWill.isOnline).toBe(false)
    expect(freshWill.lastSeenAt).toBe(at)
  })

  it('records identity on sync and never lowers the reported directive seq', () => {
    const sync: SyncRequest = {
      v: 1, deviceId: 'd-1', agentVersion: '0.1.0',
      hardware: { arch: 'x64', platform: 'linux', osRelease: '6', hostname: 'h', cpuModel: 'c', cpuCount: 2, memoryBytes: 1, accelerators: [] },
      executionProviders: [{ name: 'cpu', isAvailable: true }], lastDirectiveSeq: 2, active: null, executionProvider: 'cpu',
      installState: 'idle', at,
    }
    const record = applySync({ ...newDeviceRecord('d-1'), reportedDirectiveSeq: 5 }, sync, at)
    expect(record).toMatchObject({ isOnline: true, firstSeenAt: at, agentVersion: '0.1.0', reportedDirectiveSeq: 5 })
    expect(applySync(newDeviceRecord('d-1'), sync, at).reportedDirectiveSeq).toBe(2)
  })

  it('sets the active model only when an install commits', () => {
    const downloading = applyInstallReport(newDeviceRecord('d-1'), aReport(), model, at)
    expect(downloading.activeModel).toBeNull()
    expect(downloading.install).toEqual({ state: 'downloading', progress: 0.5, errorCode: null, message: null })
    const committed = applyInstallReport(downloading, aReport({ state: 'committed', progress: 0.9, executionProvider: 'cpu' }), model, at)
    expect(committed.activeModel).toEqual(model)
    expect(committed.install.progress).toBe(1)
    expect(committed.executionProvider).toBe('cpu')
    expect(committed.reportedDirectiveSeq).toBe(3)
  })

  it.each([
    [2, 3, true],
    [3, 3, false],
    [4, 3, false],
    [1, undefined, false],
  ])('report for seq %s with latest directive %s is stale: %s', (reportSeq, latestSeq, expected) => {
    expect(isStaleReport(reportSeq, latestSeq)).toBe(expected)
  })

  it('summarizes latency from the newest window only', () => {
    const first = applyTelemetryWindow(newDeviceRecord('d-1'), aWindow(), at)
    expect(first.latency).toMatchObject({ requestCount: 100, errorCount: 1, windowEndAt: '2025-01-01T00:00:10.000Z' })
    expect(first.latency!.p50Ms).toBeGreaterThan(1.6)
    expect(first.latency!.p50Ms).toBeLessThanOrEqual(2.4)
    expect(first.latency!.p99Ms).toBeGreaterThan(33)
    expect(first.latency!.p99Ms).toBeLessThanOrEqual(48)
    const older = applyTelemetryWindow(first, aWindow({ reportSeq: 0, requestCount: 5, windowEndAt: '2025-01-01T00:00:05.000Z' }), at)
    expect(older.latency!.requestCount).toBe(100)
  })

  it.each([
    [0, 0, 1],
    [4, 2, 5],
    [2, 7, 8],
  ])('next directive seq after stored %i and reported %i is %i', (stored, reported, expected) => {
    expect(nextDirectiveSeq(stored, reported)).toBe(expected)
  })
})

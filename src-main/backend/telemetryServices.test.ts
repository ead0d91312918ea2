/** telemetryService and driftService over the real SQLite store, with a manual clock. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Alert } from '../../src-shared/domain/drift.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { createManualClock } from '../adapters/clock/systemClock.ts'
import { createSqliteTelemetryRepository, type BatchingTelemetryRepository } from '../adapters/sqlite/sqliteTelemetryRepository.ts'
import { makeReference, makeWindow, MODEL_SHA256, seededRandom } from '../adapters/sqlite/testing/driftFixtures.ts'
import { insertDevices, openTelemetryTestDatabase, type TelemetryTestDatabase } from '../adapters/sqlite/testing/telemetryTestDatabase.ts'
import { createDriftService } from '../services/driftService.ts'
import { createTelemetryService, type TelemetryIngested } from '../services/telemetryService.ts'

const T0 = Date.UTC(2025, 0, 1)
const reference = makeReference(4, 8)

let context: TelemetryTestDatabase
let repository: BatchingTelemetryRepository
let alerts: Alert[]
let notices: TelemetryIngested[]
const clock = createManualClock(T0 + 60 * 60_000)

function services() {
  const telemetryService = createTelemetryService({
    rollups: context.store.rollupJob,
    queries: context.store.queries,
    ingest: repository,
    clock,
    notifier: { alertRaised: (alert) => alerts.push(alert), telemetryIngested: (notice) => notices.push(notice) },
    log: silentLogger,
    noticeIntervalMs: 0,
  })
  const driftService = createDriftService({ queries: context.store.queries, store: context.store.driftStore, clock, log: silentLogger })
  return { telemetryService, driftService }
}

beforeEach(async () => {
  context = openTelemetryTestDatabase()
  repository = createSqliteTelemetryRepository(context.db, { maxDelayMs: 5 })
  alerts = []
  notices = []
  insertDevices(context.db, [{ deviceId: 'cam-1', tags: ['north'] }, { deviceId: 'cam-2' }])
})
afterEach(() => context.close())

describe('telemetryService', () => {
  it('rolls up committed windows, pushes the alert and a notice, and counts them for /metrics', async () => {
    const { telemetryService, driftService } = services()
    await driftService.registerReference(MODEL_SHA256, reference, 'tiny@1')
    await driftService.updateSettings({ sustainedWindows: 2 })
    const random = seededRandom(5)
    const shifted = { f00: 3, f01: 3, f02: 3, f03: 3 }
    for (let seq = 1; seq <= 3; seq++) {
      const window = makeWindow(reference, { deviceId: 'cam-1', reportSeq: seq, startMs: T0 + seq * 60_000, samples: 300, shifts: shifted }, random)
      await Promise.all([repository.insert(window, window.windowEndAt), repository.insert(window, window.windowEndAt)])
    }
    await telemetryService.catchUp()
    expect(alerts.map((alert) => [alert.kind, alert.deviceId])).toEqual([['drift', 'cam-1']])
    expect(notices.reduce((sum, notice) => sum + notice.windowCount, 0)).toBe(3)
    const metrics = await telemetryService.collectMetrics()
    const value = (name: string, labels: Record<string, string> = {}) =>
      metrics.find((family) => family.name === name)?.samples.find((sample) => JSON.stringify(sample.labels) === JSON.stringify(labels))?.value
    expect(value('outpost_telemetry_windows_stored_total')).toBe(3)
    expect(value('outpost_telemetry_windows_duplicate_total')).toBe(3)
    expect(value('outpost_telemetry_windows_rolled_up_total')).toBe(3)
    expect(value('outpost_alerts_raised_total', { kind: 'drift' })).toBe(1)
    expect(value('outpost_alerts_active', { kind: 'drift' })).toBe(1)
    await telemetryService.stop()
  })
})

describe('driftService', () => {
  it('resolves the release, defaults the range to the last 24 h and applies the stored settings', async () => {
    const { telemetryService, driftService } = services()
    await driftService.registerReference(MODEL_SHA256, reference, 'tiny@1')
    const random = seededRandom(9)
    for (let seq = 1; seq <= 3; seq++) {
      const window = makeWindow(reference, { deviceId: 'cam-2', reportSeq: seq, startMs: T0 + seq * 60_000, samples: 100 }, random)
      await repository.insert(window, window.windowEndAt)
    }
    await telemetryService.catchUp()
    const heatmap = await driftService.heatmap({ release: 'tiny@1' })
    expect(heatmap.rows.map((row) => [row.key, row.cells[0]?.sampleCount, row.verdict])).toEqual([['cam-2', 300, 'stable']])
    expect(Date.parse(heatmap.toAt) - Date.parse(heatmap.fromAt)).toBe(24 * 60 * 60_000)
    await driftService.updateSettings({ minSamples: 1000 })
    expect((await driftService.heatmap({ release: MODEL_SHA256.slice(0, 8) })).rows[0]?.verdict).toBe('insufficient')
    await expect(driftService.updateSettings({ deviceDriftShare: 2 })).rejects.toMatchObject({ code: 'invalid-input' })
    await expect(driftService.heatmap({ release: 'tiny@1', fromAt: '2025-01-02T00:00:00.000Z', toAt: '2025-01-01T00:00:00.000Z' })).rejects.toMatchObject({
      code: 'invalid-input',
    })
    expect(await driftService.tagDevice('cam-2', ['south', 'north', 'south'])).toEqual({ deviceId: 'cam-2', tags: ['north', 'south'] })
    const byTag = await driftService.heatmap({ release: 'tiny@1', by: 'tag' })
    expect(byTag.rows.map((row) => row.key).sort()).toEqual(['north', 'south'])
    await telemetryService.stop()
  })
})

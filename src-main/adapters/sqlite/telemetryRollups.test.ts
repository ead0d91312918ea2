import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_DRIFT_SETTINGS } from '../../../src-shared/domain/drift.ts'
import type { TelemetryWindow } from '../../../src-shared/protocol/messages.ts'
import { decodeF64 } from './telemetryBlobs.ts'
import { createSqliteTelemetryRepository } from './sqliteTelemetryRepository.ts'
import { featureName, makeReference, makeWindow, MODEL_SHA256, seededRandom, type WindowSpec } from './testing/driftFixtures.ts'
import { insertDevices, openTelemetryTestDatabase, rollUpEverything, type TelemetryTestDatabase } from './testing/telemetryTestDatabase.ts'

const reference = makeReference(4, 8)
const T0 = Date.UTC(2025, 0, 1)
const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
const random = seededRandom(42)

let context: TelemetryTestDatabase
let stored: TelemetryWindow[]
beforeEach(async () => {
  context = openTelemetryTestDatabase()
  stored = []
  insertDevices(context.db, [{ deviceId: 'd-1' }, { deviceId: 'd-2' }])
  await context.store.driftStore.registerReference(MODEL_SHA256, reference, 'tiny@1', '2025-01-01T00:00:00.000Z')
})
afterEach(() => context.close())

async function ingest(specs: WindowSpec[]): Promise<void> {
  const repository = createSqliteTelemetryRepository(context.db, { maxDelayMs: 1 })
  const windows = specs.map((spec) => makeWindow(reference, spec, random))
  await Promise.all(windows.map((window) => repository.insert(window, window.windowEndAt)))
  stored.push(...windows)
}

/** What any range must add up to: the stored windows starting in [fromMs, toMs), summed by brute force. */
function bruteForce(feature: string, fromMs: number, toMs: number, deviceId?: string): number[] {
  const sum = new Array<number>(reference.features[0]?.reference_counts.length ?? 0).fill(0)
  for (const window of stored) {
    const startMs = Date.parse(window.windowStartAt)
    if (startMs < fromMs || startMs >= toMs || (deviceId !== undefined && window.deviceId !== deviceId)) continue
    window.featureCounts?.[feature]?.forEach((count, i) => (sum[i] = (sum[i] ?? 0) + count))
  }
  return sum
}

const overlayOf = (feature: string, fromMs: number, toMs: number, nowMs: number, deviceId?: string) =>
  context.store.queries.overlay(MODEL_SHA256, feature, { fromMs, toMs, nowMs }, {
    scope: deviceId === undefined ? null : { by: 'device', key: deviceId },
    settings: DEFAULT_DRIFT_SETTINGS,
  })

const seriesRow = (resolution: string, bucketStartMs: number) =>
  context.db
    .prepare<[string, number], { window_count: number; request_count: number; latency_counts: Buffer }>(
      'SELECT window_count, request_count, latency_counts FROM telemetry_series WHERE resolution = ? AND bucket_start_ms = ?',
    )
    .get(resolution, bucketStartMs)

describe('telemetry rollups', () => {
  it('consume each window exactly once: a second pass finds nothing and the sums do not move', async () => {
    await ingest([1, 2, 3, 4].map((seq) => ({ deviceId: 'd-1', reportSeq: seq, startMs: T0 + seq * 10_000, samples: 50 })))
    expect(rollUpEverything(context.store)).toBe(4)
    const before = seriesRow('hour', T0)
    expect(context.store.rollups.runPass().windowCount).toBe(0)
    expect(seriesRow('hour', T0)).toEqual(before)
    expect(before?.window_count).toBe(4)
    expect(before?.request_count).toBe(200)
    expect(decodeF64(before?.latency_counts ?? Buffer.alloc(0)).reduce((sum, count) => sum + count, 0)).toBe(200)
  })

  it('places a late window in its own old buckets and keeps every later checkpoint exact', async () => {
    await ingest([
      { deviceId: 'd-1', reportSeq: 10, startMs: T0 + 2 * HOUR },
      { deviceId: 'd-1', reportSeq: 11, startMs: T0 + 3 * HOUR },
    ])
    rollUpEverything(context.store)
    // Arrives after the later windows were rolled up, for an hour before them.
    await ingest([{ deviceId: 'd-1', reportSeq: 9, startMs: T0 + HOUR + 5 * MINUTE }])
    rollUpEverything(context.store)
    expect(seriesRow('hour', T0 + HOUR)?.window_count).toBe(1)
    const nowMs = T0 + 4 * HOUR
    for (const [fromMs, toMs] of [
      [T0, T0 + 4 * HOUR],
      [T0 + HOUR + 10 * MINUTE, T0 + 4 * HOUR],
      [T0, T0 + 2 * HOUR + 30 * MINUTE],
      [T0 + 3 * HOUR, T0 + 4 * HOUR],
    ] as const) {
      const overlay = await overlayOf('f01', fromMs, toMs, nowMs, 'd-1')
      expect(overlay.liveCounts).toEqual(bruteForce('f01', fromMs, toMs, 'd-1'))
    }
  })

  it('answers with windows not rolled up yet (read from the raw tail)', async () => {
    await ingest([1, 2].map((seq) => ({ deviceId: 'd-2', reportSeq: seq, startMs: T0 + seq * MINUTE })))
    rollUpEverything(context.store)
    await ingest([3, 4].map((seq) => ({ deviceId: 'd-2', reportSeq: seq, startMs: T0 + seq * MINUTE })))
    const nowMs = T0 + HOUR
    const deviceOverlay = await overlayOf(featureName(2), T0, nowMs, nowMs, 'd-2')
    expect(deviceOverlay.liveCounts).toEqual(bruteForce(featureName(2), T0, nowMs, 'd-2'))
    const releaseOverlay = await overlayOf(featureName(2), T0, nowMs, nowMs)
    expect(releaseOverlay.liveCounts).toEqual(bruteForce(featureName(2), T0, nowMs))
    expect(deviceOverlay.sampleCount).toBe(400)
  })

  it('ignores drift counts made with other bins, but still rolls the window up', async () => {
    await ingest([{ deviceId: 'd-1', reportSeq: 1, startMs: T0, binsSha256: 'cd'.repeat(32) }])
    const result = context.store.rollups.runPass()
    expect(result).toMatchObject({ windowCount: 1, unmatchedDriftWindows: 1 })
    expect(seriesRow('minute', T0)?.window_count).toBe(1)
    expect((await overlayOf('f00', T0, T0 + HOUR, T0 + HOUR)).sampleCount).toBe(0)
  })

  it('deletes raw windows past retention only once they are rolled up', async () => {
    await ingest([1, 2, 3].map((seq) => ({ deviceId: 'd-1', reportSeq: seq, startMs: T0 + seq * MINUTE })))
    const nowMs = T0 + 20 * DAY
    expect(context.store.rollups.applyRetention(nowMs).rawWindowsDeleted).toBe(0)
    rollUpEverything(context.store)
    expect(context.store.rollups.applyRetention(nowMs).rawWindowsDeleted).toBe(3)
    expect((await overlayOf('f00', T0, T0 + HOUR, nowMs, 'd-1')).liveCounts).toEqual(bruteForce('f00', T0, T0 + HOUR, 'd-1'))
  })

  it('thins old checkpoints to one per hour without changing totals at hour boundaries', async () => {
    const specs: WindowSpec[] = []
    for (let minute = 0; minute < 180; minute += 7) specs.push({ deviceId: 'd-1', reportSeq: minute + 1, startMs: T0 + minute * MINUTE, samples: 20 })
    await ingest(specs)
    rollUpEverything(context.store)
    const nowMs = T0 + 2 * DAY
    const hourRange = [T0 + HOUR, T0 + 3 * HOUR] as const
    const before = await overlayOf('f03', hourRange[0], hourRange[1], nowMs, 'd-1')
    expect(context.store.rollups.applyRetention(nowMs).checkpointsThinned).toBe(specs.length - 3)
    expect(context.db.prepare<[], { count: number }>('SELECT count(*) AS count FROM drift_checkpoints').get()?.count).toBe(3)
    const after = await overlayOf('f03', hourRange[0], hourRange[1], nowMs, 'd-1')
    expect(after.liveCounts).toEqual(before.liveCounts)
    expect(after.liveCounts).toEqual(bruteForce('f03', hourRange[0], hourRange[1], 'd-1'))
    expect(context.store.rollups.applyRetention(nowMs).checkpointsThinned).toBe(0)
  })

  it('raises one alert for sustained drift, records it, and clears it when the device is back to normal', async () => {
    const shifted = { f00: 3, f01: 3, f02: 3 }
    const specs: WindowSpec[] = []
    for (let seq = 1; seq <= 4; seq++) specs.push({ deviceId: 'd-2', reportSeq: seq, startMs: T0 + seq * MINUTE, samples: 250, shifts: shifted })
    await ingest(specs)
    const raised = context.store.rollups.runPass().raised
    expect(raised).toHaveLength(1)
    expect(raised[0]).toMatchObject({ kind: 'drift', deviceId: 'd-2', modelSha256: MODEL_SHA256, consecutiveWindows: 3, clearedAt: null })
    expect(raised[0]?.value).toBeGreaterThanOrEqual(0.75)
    await ingest([{ deviceId: 'd-2', reportSeq: 5, startMs: T0 + 5 * MINUTE, samples: 250 }])
    const cleared = context.store.rollups.runPass()
    expect(cleared.raised).toHaveLength(0)
    expect(cleared.clearedAlertIds).toEqual([raised[0]?.alertId])
    const alerts = await context.store.queries.alerts({ activeOnly: false, limit: 10 })
    expect(alerts).toHaveLength(1)
    expect(alerts[0]?.clearedAt).not.toBeNull()
    expect(await context.store.queries.alerts({ activeOnly: true, limit: 10 })).toHaveLength(0)
  })

  it('raises a latency alert when p95 stays above the threshold', async () => {
    await context.store.driftStore.writeSettings({ ...DEFAULT_DRIFT_SETTINGS, latencyP95ThresholdMs: 50, sustainedWindows: 2 })
    await ingest([1, 2].map((seq) => ({ deviceId: 'd-1', reportSeq: seq, startMs: T0 + seq * MINUTE, samples: 30, latencyMs: 400 })))
    const raised = context.store.rollups.runPass().raised
    expect(raised.map((alert) => alert.kind)).toEqual(['latency'])
    expect(raised[0]?.value).toBeGreaterThan(50)
  })
})

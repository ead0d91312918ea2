/**
 * The dashboard queries at a modest scale (500 devices × 20 features × 24 hourly windows), against sums computed
 * by brute force from the very windows that were ingested.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEFAULT_DRIFT_SETTINGS,
  DeviceDriftDetail,
  DriftHeatmap,
  FleetOverview,
  HistogramOverlay,
  LatencySeries,
  PredictionSeries,
  WindowDetail,
} from '../../../src-shared/domain/drift.ts'
import { latencyQuantileMs } from '../../../src-shared/protocol/latencyHistogram.ts'
import type { TelemetryWindow } from '../../../src-shared/protocol/messages.ts'
import { populationStabilityIndex } from '../../core/drift/metrics.ts'
import { createSqliteTelemetryRepository } from './sqliteTelemetryRepository.ts'
import { featureName, makeReference, makeWindow, MODEL_SHA256, seededRandom } from './testing/driftFixtures.ts'
import { insertDevices, openTelemetryTestDatabase, rollUpEverything, type TelemetryTestDatabase } from './testing/telemetryTestDatabase.ts'

const DEVICES = 500
const FEATURES = 20
const HOURS = 24
const SAMPLES = 50
const HOUR = 3_600_000
const T0 = Date.UTC(2025, 0, 1)
const NOW = T0 + HOURS * HOUR
const SHIFTED_FEATURE = featureName(3)
const reference = makeReference(FEATURES, 12)
const deviceId = (index: number) => `dev-${String(index).padStart(4, '0')}`
/** site-a is the first half of the fleet; half of site-a (the even devices) has feature 3 shifted by 1.5 sd. */
const isShifted = (index: number) => index < DEVICES / 2 && index % 2 === 0
const settings = DEFAULT_DRIFT_SETTINGS

let context: TelemetryTestDatabase
const windows: TelemetryWindow[] = []

beforeAll(async () => {
  context = openTelemetryTestDatabase(() => new Date(NOW).toISOString())
  insertDevices(
    context.db,
    Array.from({ length: DEVICES }, (_, index) => ({
      deviceId: deviceId(index),
      arch: index % 3 === 0 ? 'arm64' : 'x64',
      isOnline: index % 5 !== 0,
      model: { name: 'tiny', version: '1.0.0', sha256: MODEL_SHA256 },
      tags: [index < DEVICES / 2 ? 'site-a' : 'site-b'],
    })),
  )
  await context.store.driftStore.registerReference(MODEL_SHA256, reference, 'tiny@1.0.0', new Date(T0).toISOString())
  const random = seededRandom(2025)
  for (let hour = 0; hour < HOURS; hour++) {
    for (let index = 0; index < DEVICES; index++) {
      windows.push(
        makeWindow(
          reference,
          {
            deviceId: deviceId(index),
            reportSeq: hour + 1,
            startMs: T0 + hour * HOUR + (index % 60) * 1000,
            samples: SAMPLES,
            latencyMs: 1 + (index % 7),
            ...(isShifted(index) ? { shifts: { [SHIFTED_FEATURE]: 1.5 } } : {}),
          },
          random,
        ),
      )
    }
  }
  const repository = createSqliteTelemetryRepository(context.db)
  await Promise.all(windows.map((window) => repository.insert(window, window.windowEndAt)))
  rollUpEverything(context.store)
}, 60_000)
afterAll(() => context.close())

function bruteForce(feature: string, filter: (window: TelemetryWindow) => boolean): number[] {
  const sum = new Array<number>(12).fill(0)
  for (const window of windows) if (filter(window)) window.featureCounts?.[feature]?.forEach((count, i) => (sum[i] = (sum[i] ?? 0) + count))
  return sum
}

const range = { fromMs: T0, toMs: NOW, nowMs: NOW }

describe('drift heatmap', () => {
  it('scores every device over the range from the exact counts, shifted devices drifting on the shifted feature only', async () => {
    const heatmap = await context.store.queries.heatmap(MODEL_SHA256, range, { by: 'device', settings, limit: DEVICES })
    expect(DriftHeatmap.safeParse(heatmap).success).toBe(true)
    expect(heatmap.totalRows).toBe(DEVICES)
    expect(heatmap.features).toHaveLength(FEATURES)
    const shiftedIndex = heatmap.features.indexOf(SHIFTED_FEATURE)
    const rows = new Map(heatmap.rows.map((row) => [row.key, row]))
    for (let index = 0; index < DEVICES; index++) {
      const row = rows.get(deviceId(index))
      expect(row?.cells[shiftedIndex]?.verdict).toBe(isShifted(index) ? 'drift' : 'stable')
      expect(row?.cells.filter((cell) => cell.verdict === 'drift')).toHaveLength(isShifted(index) ? 1 : 0)
      expect(row?.cells[0]?.sampleCount).toBe(HOURS * SAMPLES)
      expect(row?.verdict).toBe('stable')
    }
    const probe = rows.get(deviceId(42))
    const expected = populationStabilityIndex(reference.features[3]?.reference_counts ?? [], bruteForce(SHIFTED_FEATURE, (window) => window.deviceId === deviceId(42)))
    expect(probe?.cells[shiftedIndex]?.score).toBeCloseTo(expected, 10)
    expect(heatmap.featureDriftCounts[shiftedIndex]).toBe(DEVICES / 4)
    expect(heatmap.featureDriftCounts.reduce((sum, count) => sum + count, 0)).toBe(DEVICES / 4)
  })

  it('returns the most drifting rows first, at most `limit`', async () => {
    const heatmap = await context.store.queries.heatmap(MODEL_SHA256, range, { by: 'device', settings, limit: 10 })
    expect(heatmap.rows).toHaveLength(10)
    expect(heatmap.totalRows).toBe(DEVICES)
    const shiftedIndex = heatmap.features.indexOf(SHIFTED_FEATURE)
    for (const row of heatmap.rows) expect(row.cells[shiftedIndex]?.verdict).toBe('drift')
  })

  it('sums cohorts: the half-shifted site drifts on that feature, the other site and the other features do not', async () => {
    const byTag = await context.store.queries.heatmap(MODEL_SHA256, range, { by: 'tag', settings, limit: 10 })
    const shiftedIndex = byTag.features.indexOf(SHIFTED_FEATURE)
    const siteA = byTag.rows.find((row) => row.key === 'site-a')
    const siteB = byTag.rows.find((row) => row.key === 'site-b')
    expect(siteA?.deviceCount).toBe(DEVICES / 2)
    expect(siteA?.cells[shiftedIndex]?.verdict).toBe('drift')
    expect(siteA?.cells.filter((cell) => cell.verdict === 'drift')).toHaveLength(1)
    expect(siteB?.cells.every((cell) => cell.verdict === 'stable')).toBe(true)
    const expected = populationStabilityIndex(reference.features[3]?.reference_counts ?? [], bruteForce(SHIFTED_FEATURE, (window) => Number(window.deviceId.slice(4)) < DEVICES / 2))
    expect(siteA?.cells[shiftedIndex]?.score).toBeCloseTo(expected, 10)

    const byArch = await context.store.queries.heatmap(MODEL_SHA256, range, { by: 'arch', settings, limit: 10 })
    expect(byArch.rows.map((row) => [row.key, row.deviceCount]).sort()).toEqual([
      ['arm64', 167],
      ['x64', 333],
    ])
  })

  it('narrows to a sub-range: the last six hours count six windows per device', async () => {
    const heatmap = await context.store.queries.heatmap(MODEL_SHA256, { fromMs: NOW - 6 * HOUR, toMs: NOW, nowMs: NOW }, { by: 'device', settings, limit: 1 })
    expect(heatmap.rows[0]?.cells[0]?.sampleCount).toBe(6 * SAMPLES)
  })
})

describe('overlay, series and overview', () => {
  it('overlays the release-wide live counts of one feature on its reference', async () => {
    const overlay = await context.store.queries.overlay(MODEL_SHA256, SHIFTED_FEATURE, range, { scope: null, settings })
    expect(HistogramOverlay.safeParse(overlay).success).toBe(true)
    expect(overlay.liveCounts).toEqual(bruteForce(SHIFTED_FEATURE, () => true))
    expect(overlay.referenceCounts).toEqual(reference.features[3]?.reference_counts)
    expect(overlay.binLabels[0]).toBe('< -2')
    expect(overlay.sampleCount).toBe(DEVICES * HOURS * SAMPLES)
    const cohort = await context.store.queries.overlay(MODEL_SHA256, SHIFTED_FEATURE, range, { scope: { by: 'tag', key: 'site-b' }, settings })
    expect(cohort.liveCounts).toEqual(bruteForce(SHIFTED_FEATURE, (window) => Number(window.deviceId.slice(4)) >= DEVICES / 2))
    expect(cohort.verdict).toBe('stable')
  })

  it('merges latency histograms per hour before taking percentiles', async () => {
    const series = await context.store.queries.latency(range)
    expect(LatencySeries.safeParse(series).success).toBe(true)
    expect(series.resolution).toBe('hour')
    expect(series.points).toHaveLength(HOURS)
    const merged = new Array<number>(73).fill(0)
    for (const window of windows.slice(0, DEVICES)) window.latencyCounts.forEach((count, i) => (merged[i] = (merged[i] ?? 0) + count))
    expect(series.points[0]?.p95Ms).toBeCloseTo(latencyQuantileMs(merged, 0.95), 10)
    expect(series.points[0]?.requestCount).toBe(DEVICES * SAMPLES)
    expect(series.releases).toEqual([{ modelSha256: MODEL_SHA256, label: 'tiny@1.0.0' }])
  })

  it('counts predictions per bucket', async () => {
    const predictions = await context.store.queries.predictions(MODEL_SHA256, range)
    expect(PredictionSeries.safeParse(predictions).success).toBe(true)
    expect(predictions.binLabels).toEqual(['class 0', 'class 1', 'class 2', 'class 3'])
    expect(predictions.points).toHaveLength(HOURS)
    expect(predictions.points.every((point) => point.total === DEVICES * SAMPLES)).toBe(true)
  })

  it('summarizes the fleet', async () => {
    const overview = await context.store.queries.overview(NOW)
    expect(FleetOverview.safeParse(overview).success).toBe(true)
    expect(overview).toMatchObject({ deviceCount: DEVICES, onlineCount: DEVICES - DEVICES / 5 })
    expect(overview.versions).toEqual([{ name: 'tiny@1.0.0', modelSha256: MODEL_SHA256, deviceCount: DEVICES, onlineCount: DEVICES - DEVICES / 5 }])
    expect(overview.arches.map((arch) => arch.name).sort()).toEqual(['arm64', 'x64'])
    expect(overview.lastHour.windowCount).toBe(DEVICES)
  })

  it('drills down to a device and to one of its windows', async () => {
    const detail = await context.store.queries.deviceDetail(MODEL_SHA256, deviceId(2), range, { settings, windowLimit: 5 })
    expect(DeviceDriftDetail.safeParse(detail).success).toBe(true)
    expect(detail.tags).toEqual(['site-a'])
    expect(detail.row?.cells.find((cell) => cell.feature === SHIFTED_FEATURE)?.verdict).toBe('drift')
    expect(detail.series).toHaveLength(HOURS)
    expect(detail.latency).toHaveLength(HOURS)
    expect(detail.windows.map((window) => window.reportSeq)).toEqual([24, 23, 22, 21, 20])
    const window = await context.store.queries.windowDetail(deviceId(2), 24, settings)
    expect(WindowDetail.safeParse(window).success).toBe(true)
    expect(window.cells).toHaveLength(FEATURES)
    expect(window.cells[0]?.sampleCount).toBe(SAMPLES)
    expect(window.window.verdict).toBe('insufficient')
    await expect(context.store.queries.windowDetail(deviceId(2), 99, settings)).rejects.toMatchObject({ code: 'not-found' })
  })

  it('resolves a release from a sha256 prefix or its label, and says when it cannot', async () => {
    expect((await context.store.queries.resolveRelease(MODEL_SHA256.slice(0, 10))).modelSha256).toBe(MODEL_SHA256)
    expect((await context.store.queries.resolveRelease('tiny@1.0.0')).modelSha256).toBe(MODEL_SHA256)
    await expect(context.store.queries.resolveRelease('nothing@9')).rejects.toMatchObject({ code: 'not-found' })
    await expect(context.store.driftStore.setDeviceTags('nobody', ['x'])).rejects.toMatchObject({ code: 'not-found' })
  })
})

/**
 * Drift and telemetry queries for the dashboards: resolves the release a caller names, fills in the default time
 * range, applies the current drift settings, and manages reference bins, settings and device tags.
 */
import type {
  Alert,
  DeviceDriftDetail,
  DriftGrouping,
  DriftHeatmap,
  DriftReference,
  DriftReferenceSummary,
  DriftSettings,
  FleetOverview,
  HistogramOverlay,
  LatencySeries,
  PredictionSeries,
  WindowDetail,
} from '../../src-shared/domain/drift.ts'
import { DriftSettings as DriftSettingsSchema } from '../../src-shared/domain/drift.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import type { Clock } from '../ports/Clock.ts'
import type { DriftStore, TelemetryQueries, TimeRange } from '../ports/TelemetryStore.ts'

/** Without `fromAt`, ranges cover the last 24 hours up to `toAt` (default now). */
export const DEFAULT_RANGE_MS = 24 * 60 * 60 * 1000
export const DEFAULT_HEATMAP_LIMIT = 50
export const MAX_HEATMAP_LIMIT = 10_000
const DEVICE_WINDOW_LIMIT = 50

export interface RangeInput {
  fromAt?: string | undefined
  toAt?: string | undefined
}

export interface DriftServiceOptions {
  queries: TelemetryQueries
  store: DriftStore
  clock: Clock
  log: Logger
}

export function createDriftService(options: DriftServiceOptions) {
  const { queries, store, clock, log } = options

  function rangeOf(input: RangeInput): TimeRange {
    const nowMs = clock.nowMs()
    const toMs = input.toAt === undefined ? nowMs : Date.parse(input.toAt)
    const fromMs = input.fromAt === undefined ? toMs - DEFAULT_RANGE_MS : Date.parse(input.fromAt)
    if (!(toMs > fromMs)) throw new AppError('invalid-input', 'The time range is empty: `toAt` must be after `fromAt`', { fromAt: input.fromAt, toAt: input.toAt })
    return { fromMs, toMs, nowMs }
  }

  const release = async (text: string) => (await queries.resolveRelease(text)).modelSha256

  return {
    overview(): Promise<FleetOverview> {
      return queries.overview(clock.nowMs())
    },
    async latency(input: RangeInput & { release?: string | undefined }): Promise<LatencySeries> {
      return queries.latency(rangeOf(input), input.release === undefined ? undefined : await release(input.release))
    },
    async predictions(input: RangeInput & { release: string }): Promise<PredictionSeries> {
      return queries.predictions(await release(input.release), rangeOf(input))
    },
    async heatmap(input: RangeInput & { release: string; by?: DriftGrouping | undefined; limit?: number | undefined }): Promise<DriftHeatmap> {
      const limit = Math.min(input.limit ?? DEFAULT_HEATMAP_LIMIT, MAX_HEATMAP_LIMIT)
      return queries.heatmap(await release(input.release), rangeOf(input), { by: input.by ?? 'device', settings: await store.readSettings(), limit })
    },
    async overlay(input: RangeInput & { release: string; feature: string; scope?: { by: DriftGrouping; key: string } | undefined }): Promise<HistogramOverlay> {
      return queries.overlay(await release(input.release), input.feature, rangeOf(input), { scope: input.scope ?? null, settings: await store.readSettings() })
    },
    async device(input: RangeInput & { release: string; deviceId: string }): Promise<DeviceDriftDetail> {
      return queries.deviceDetail(await release(input.release), input.deviceId, rangeOf(input), { settings: await store.readSettings(), windowLimit: DEVICE_WINDOW_LIMIT })
    },
    async window(deviceId: string, reportSeq: number): Promise<WindowDetail> {
      return queries.windowDetail(deviceId, reportSeq, await store.readSettings())
    },
    alerts(input: { activeOnly?: boolean | undefined; limit?: number | undefined }): Promise<Alert[]> {
      return queries.alerts({ activeOnly: input.activeOnly ?? false, limit: input.limit ?? 100 })
    },
    references(): Promise<DriftReferenceSummary[]> {
      return queries.references()
    },
    async registerReference(modelSha256: string, reference: DriftReference, label: string | undefined): Promise<DriftReferenceSummary> {
      const summary = await store.registerReference(modelSha256, reference, label ?? '', new Date(clock.nowMs()).toISOString())
      log.info('Registered drift reference bins', { modelSha256, binsSha256: summary.binsSha256, features: summary.features.length })
      return summary
    },
    settings(): Promise<DriftSettings> {
      return store.readSettings()
    },
    /** Changes some settings; the result is checked as a whole (e.g. a share in (0, 1]). */
    async updateSettings(changes: Partial<DriftSettings>): Promise<DriftSettings> {
      const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined))
      const parsed = DriftSettingsSchema.safeParse({ ...(await store.readSettings()), ...defined })
      if (!parsed.success) throw new AppError('invalid-input', `Drift settings rejected: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`)
      await store.writeSettings(parsed.data)
      return parsed.data
    },
    async tagDevice(deviceId: string, tags: readonly string[]): Promise<{ deviceId: string; tags: string[] }> {
      return { deviceId, tags: await store.setDeviceTags(deviceId, tags) }
    },
  }
}

export type DriftService = ReturnType<typeof createDriftService>

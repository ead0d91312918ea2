import { z } from 'zod'
import {
  Alert,
  DeviceDriftDetail,
  DeviceTags,
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
} from '../domain/drift.ts'
import { DeviceId, Instant, Sha256Hex } from '../domain/ids.ts'
import type { EventTable, MethodTable } from '../rpc/types.ts'

/**
 * Telemetry and drift (issue 7). Every figure is aggregated by the control center; the UI only draws.
 * Ranges: `fromAt`/`toAt` are ISO instants, half-open [fromAt, toAt); without `toAt` the range ends now, without
 * `fromAt` it starts 24 h before its end. `release` names a release as a reviewer would: a model sha256 (or its
 * first 8+ characters), a model id, name@version or the reference label; unknown gives 'not-found', ambiguous
 * 'conflict'.
 */
const Range = { fromAt: Instant.optional(), toAt: Instant.optional() }
const Release = z.string().min(1).max(200)

export const TelemetryIngested = z.object({
  /** Windows rolled up since the previous notice. */
  windowCount: z.int().nonnegative(),
  latestWindowEndAt: Instant.nullable(),
  at: Instant,
})
export type TelemetryIngested = z.infer<typeof TelemetryIngested>

export const telemetryMethods = {
  /** Online devices, running versions, execution providers, architectures, alerts, the last hour's traffic. */
  'telemetry.overview': { input: z.object({}), output: FleetOverview },
  /** p50/p95/p99 per time bucket and release (all releases without `release`); minute, hour or day buckets by span. */
  'telemetry.latency': { input: z.object({ ...Range, release: Release.optional() }), output: LatencySeries },
  /** The release's prediction bins per time bucket. Throws 'invalid-input' when its reference has no prediction bins. */
  'telemetry.predictions': { input: z.object({ ...Range, release: Release }), output: PredictionSeries },
  /** One raw window against its release's reference. Throws 'not-found' once it is past raw retention. */
  'telemetry.window': { input: z.object({ deviceId: DeviceId, reportSeq: z.int().nonnegative() }), output: WindowDetail },
  /** Alerts, newest first (at most `limit`, default 100). */
  'telemetry.alerts': {
    input: z.object({ activeOnly: z.boolean().optional(), limit: z.int().min(1).max(10_000).optional() }),
    output: z.array(Alert),
  },
  /** Releases with registered reference bins. */
  'drift.references': { input: z.object({}), output: z.array(DriftReferenceSummary) },
  /**
   * Registers the signed reference bins of a model (the release manifest's `drift`). Replacing them with other bins
   * discards the drift counts rolled up under the old ones.
   */
  'drift.registerReference': {
    input: z.object({ modelSha256: Sha256Hex, label: z.string().max(128).optional(), reference: DriftReference }),
    output: DriftReferenceSummary,
  },
  'drift.settings': { input: z.object({}), output: DriftSettings },
  /** Changes some settings; throws 'invalid-input' when the result is not valid. */
  'drift.updateSettings': { input: DriftSettings.partial(), output: DriftSettings },
  /** Features × devices (or cohorts) over a range; the most drifting `limit` rows (default 50) plus totals. */
  'drift.heatmap': {
    input: z.object({ ...Range, release: Release, by: DriftGrouping.optional(), limit: z.int().min(1).max(10_000).optional() }),
    output: DriftHeatmap,
  },
  /** Reference vs live counts of one feature (or the prediction bins, by name) for the release, a cohort or a device. */
  'drift.overlay': {
    input: z.object({
      ...Range,
      release: Release,
      feature: z.string().min(1).max(64),
      scope: z.object({ by: DriftGrouping, key: z.string().min(1).max(128) }).optional(),
    }),
    output: HistogramOverlay,
  },
  /** One device of a release: its verdicts, drift over time, latency over time and its newest windows. */
  'drift.device': { input: z.object({ ...Range, release: Release, deviceId: DeviceId }), output: DeviceDriftDetail },
  /** Replaces a device's tags (cohorts for the heatmap). Throws 'not-found' for an unknown device. */
  'devices.tag': { input: z.object({ deviceId: DeviceId, tags: DeviceTags }), output: z.object({ deviceId: DeviceId, tags: DeviceTags }) },
} as const satisfies MethodTable

export const telemetryEvents = {
  /** A drift or latency threshold was crossed for the configured number of consecutive windows. */
  'alert.raised': Alert,
  /** New windows were rolled up (at most one notice every 2 s): dashboards refresh. */
  'telemetry.ingested': TelemetryIngested,
} as const satisfies EventTable

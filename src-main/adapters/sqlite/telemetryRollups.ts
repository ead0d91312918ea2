/**
 * Rollups of raw telemetry windows, exactly once: a pass reads the windows above the watermark (the highest rowid
 * already consumed, kept in telemetry_state) in rowid order, adds them into every rollup and moves the watermark,
 * all in one transaction. Running a pass again, or after a crash, neither skips nor double-counts a window, and a
 * late or out-of-order window simply lands in its own (older) buckets.
 *
 * What a window feeds (buckets by windowStartAt, UTC):
 * - telemetry_series: per release (model sha256), minute/hour/day: windows, requests, errors, latency histogram,
 *   drift counts (the flat vector of the model's reference; f64 blobs).
 * - telemetry_device_rollups: per device and release, hour/day: the same without drift counts.
 * - drift_checkpoints: per release and device, running totals of the drift vector at minute checkpoints (u32
 *   modulo 2^32): the counts of any range are totals(end) − totals(start), two rows per device whatever the range.
 *   A window adds its counts to its own checkpoint and every later one of that device, so late windows stay exact.
 * - alert streaks and alerts (core/drift/alertStreaks.ts).
 */
import type { Alert, AlertKind, DriftSettings } from '../../../src-shared/domain/drift.ts'
import { LATENCY_BUCKET_UPPER_MS } from '../../../src-shared/protocol/latencyHistogram.ts'
import { advanceDriftStreak, advanceLatencyStreak, newStreakState, type StreakOutcome, type StreakState } from '../../core/drift/alertStreaks.ts'
import { packDriftCounts, type DriftLayout } from '../../core/drift/driftLayout.ts'
import { DEFAULT_TELEMETRY_RETENTION, floorToResolution, isoAt, RESOLUTION_MS, type TelemetryRetention } from '../../core/drift/timeBuckets.ts'
import type { RetentionResult, RollupPassResult } from '../../ports/TelemetryStore.ts'
import type { LayoutCache } from './driftReferences.ts'
import type { SqliteDatabase } from './openDatabase.ts'
import { encodeF64, encodeU32, registerTelemetryFunctions } from './telemetryBlobs.ts'
import { readWatermark, ROLLUP_WATERMARK_KEY } from './telemetryState.ts'

const LATENCY_BINS = LATENCY_BUCKET_UPPER_MS.length + 1
export const DEFAULT_PASS_WINDOWS = 5000
/** How many coarse buckets (hours, days) behind its last stop thinning looks again. */
const THINNING_LOOK_BACK_BUCKETS = 48

interface RawRow {
  rowid: number
  device_id: string
  report_seq: number
  window_start_at: string
  window_end_at: string
  model_sha256: string | null
  execution_provider: string | null
  request_count: number
  error_count: number
  latency_counts_json: string
  bins_sha256: string | null
  feature_counts_json: string | null
  prediction_counts_json: string | null
}

interface SeriesAccumulator {
  resolution: 'minute' | 'hour' | 'day'
  modelSha256: string
  bucketStartMs: number
  windowCount: number
  requestCount: number
  errorCount: number
  latency: Float64Array
  drift: Float64Array | null
}

interface DeviceAccumulator {
  resolution: 'hour' | 'day'
  deviceId: string
  modelSha256: string
  bucketStartMs: number
  executionProvider: string | null
  windowCount: number
  requestCount: number
  errorCount: number
  latency: Float64Array
}

interface CheckpointDelta {
  modelSha256: string
  deviceId: string
  bucketStartMs: number
  delta: Uint32Array
}

interface AlertRow {
  alert_id: number
  kind: AlertKind
  device_id: string
  model_sha256: string | null
  value: number
  threshold: number
  consecutive_windows: number
  first_window_start_at: string
  last_window_end_at: string
  raised_at: string
  cleared_at: string | null
  detail: string
}

export function alertFromRow(row: AlertRow): Alert {
  return {
    alertId: row.alert_id,
    kind: row.kind,
    deviceId: row.device_id,
    modelSha256: row.model_sha256,
    value: row.value,
    threshold: row.threshold,
    consecutiveWindows: row.consecutive_windows,
    firstWindowStartAt: row.first_window_start_at,
    lastWindowEndAt: row.last_window_end_at,
    raisedAt: row.raised_at,
    clearedAt: row.cleared_at,
    detail: row.detail,
  }
}

function addInto(target: Float64Array | Uint32Array, values: ArrayLike<number>): void {
  const length = Math.min(target.length, values.length)
  for (let i = 0; i < length; i++) target[i] = (target[i] as number) + (values[i] as number)
}

function describeAlert(kind: AlertKind, outcome: Extract<StreakOutcome, { kind: 'raise' }>, settings: DriftSettings): string {
  return kind === 'drift'
    ? `${Math.round(outcome.value * 100)}% of features at ${settings.metric} >= ${settings.threshold} in ${outcome.consecutiveWindows} consecutive evaluation windows`
    : `p95 ${outcome.value.toFixed(1)} ms > ${settings.latencyP95ThresholdMs} ms in ${outcome.consecutiveWindows} consecutive evaluation windows`
}

export interface TelemetryRollupsOptions {
  layouts: LayoutCache
  settings: () => DriftSettings
  nowIso: () => string
}

export function createTelemetryRollups(db: SqliteDatabase, options: TelemetryRollupsOptions) {
  registerTelemetryFunctions(db)
  const { layouts } = options
  const selectPending = db.prepare<[number, number], RawRow>(`
    SELECT rowid, device_id, report_seq, window_start_at, window_end_at, model_sha256, execution_provider, request_count,
      error_count, latency_counts_json, bins_sha256, feature_counts_json, prediction_counts_json
    FROM telemetry_windows WHERE rowid > ? ORDER BY rowid LIMIT ?`)
  const hasPendingAbove = db.prepare<[number], { found: number }>('SELECT 1 AS found FROM telemetry_windows WHERE rowid > ? LIMIT 1')
  const upsertSeries = db.prepare<[string, string, number, number, number, number, Buffer, Buffer | null]>(`
    INSERT INTO telemetry_series (resolution, model_sha256, bucket_start_ms, window_count, request_count, error_count,
      latency_counts, drift_counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (resolution, model_sha256, bucket_start_ms) DO UPDATE SET
      window_count = window_count + excluded.window_count, request_count = request_count + excluded.request_count,
      error_count = error_count + excluded.error_count,
      latency_counts = outpost_add_f64(latency_counts, excluded.latency_counts),
      drift_counts = outpost_add_f64(drift_counts, excluded.drift_counts)`)
  const upsertDevice = db.prepare<[string, string, number, string, string | null, number, number, number, Buffer]>(`
    INSERT INTO telemetry_device_rollups (resolution, device_id, bucket_start_ms, model_sha256, execution_provider,
      window_count, request_count, error_count, latency_counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (resolution, device_id, bucket_start_ms, model_sha256) DO UPDATE SET
      execution_provider = COALESCE(excluded.execution_provider, execution_provider),
      window_count = window_count + excluded.window_count, request_count = request_count + excluded.request_count,
      error_count = error_count + excluded.error_count,
      latency_counts = outpost_add_f64(latency_counts, excluded.latency_counts)`)
  const upsertDriftDevice = db.prepare<[string, string, number, number], { series_id: number }>(`
    INSERT INTO drift_devices (model_sha256, device_id, first_bucket_ms, last_bucket_ms) VALUES (?, ?, ?, ?)
    ON CONFLICT (model_sha256, device_id) DO UPDATE SET first_bucket_ms = min(first_bucket_ms, excluded.first_bucket_ms),
      last_bucket_ms = max(last_bucket_ms, excluded.last_bucket_ms)
    RETURNING series_id`)
  // A new checkpoint starts from the device's previous totals; then the delta goes into it and every later one.
  // (The existence check comes first so the look-up of the previous totals only runs when a row is created.)
  const openCheckpoint = db.prepare<[{ series: number; bucket: number; bytes: number }]>(`
    INSERT INTO drift_checkpoints (series_id, bucket_start_ms, totals)
    SELECT @series, @bucket, COALESCE((SELECT totals FROM drift_checkpoints WHERE series_id = @series
      AND bucket_start_ms < @bucket ORDER BY bucket_start_ms DESC LIMIT 1), zeroblob(@bytes))
    WHERE NOT EXISTS (SELECT 1 FROM drift_checkpoints WHERE series_id = @series AND bucket_start_ms = @bucket)`)
  const addToCheckpoints = db.prepare<[Buffer, number, number]>(`
    UPDATE drift_checkpoints SET totals = outpost_add_u32(totals, ?) WHERE series_id = ? AND bucket_start_ms >= ?`)
  const selectStreak = db.prepare<[string, string], { state_json: string }>('SELECT state_json FROM alert_streaks WHERE device_id = ? AND kind = ?')
  const upsertStreak = db.prepare<[string, string, string]>(`
    INSERT INTO alert_streaks (device_id, kind, state_json) VALUES (?, ?, ?)
    ON CONFLICT (device_id, kind) DO UPDATE SET state_json = excluded.state_json`)
  const insertAlert = db.prepare<[string, string, string | null, number, number, number, string, string, string, string], AlertRow>(`
    INSERT INTO alerts (kind, device_id, model_sha256, value, threshold, consecutive_windows, first_window_start_at,
      last_window_end_at, raised_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`)
  const clearAlerts = db.prepare<[string, string, string], { alert_id: number }>(
    'UPDATE alerts SET cleared_at = ? WHERE device_id = ? AND kind = ? AND cleared_at IS NULL RETURNING alert_id',
  )
  const writeWatermark = db.prepare<[string, string]>(`
    INSERT INTO telemetry_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`)

  const pass = db.transaction((maxWindows: number): RollupPassResult => {
    const watermark = readWatermark(db)
    const rows = selectPending.all(watermark, maxWindows)
    const result: RollupPassResult = { windowCount: rows.length, unmatchedDriftWindows: 0, raised: [], clearedAlertIds: [], latestWindowEndAt: null, hasMore: false }
    if (rows.length === 0) return result
    const settings = options.settings()
    const series = new Map<string, SeriesAccumulator>()
    const deviceRollups = new Map<string, DeviceAccumulator>()
    const checkpoints = new Map<string, CheckpointDelta>()
    const driftDevices = new Map<string, { modelSha256: string; deviceId: string; first: number; last: number }>()
    const streaks = new Map<string, StreakState>()

    const streakOf = (deviceId: string, kind: AlertKind): StreakState => {
      const key = `${kind}\u0000${deviceId}`
      let state = streaks.get(key)
      if (!state) {
        const stored = selectStreak.get(deviceId, kind)
        state = stored ? (JSON.parse(stored.state_json) as StreakState) : newStreakState()
        streaks.set(key, state)
      }
      return state
    }
    const applyOutcome = (deviceId: string, kind: AlertKind, modelSha256: string | null, outcome: StreakOutcome) => {
      if (outcome.kind === 'raise') {
        const threshold = kind === 'drift' ? settings.deviceDriftShare : settings.latencyP95ThresholdMs
        const row = insertAlert.get(kind, deviceId, modelSha256, outcome.value, threshold, outcome.consecutiveWindows,
          outcome.firstWindowStartAt, outcome.lastWindowEndAt, options.nowIso(), describeAlert(kind, outcome, settings))
        if (row) result.raised.push(alertFromRow(row))
      } else if (outcome.kind === 'clear') {
        for (const cleared of clearAlerts.all(options.nowIso(), deviceId, kind)) result.clearedAlertIds.push(cleared.alert_id)
      }
    }

    for (const row of rows) {
      const startMs = Date.parse(row.window_start_at)
      const modelSha256 = row.model_sha256 ?? ''
      const latency = JSON.parse(row.latency_counts_json) as number[]
      const layout: DriftLayout | null = row.model_sha256 === null ? null : layouts.layoutFor(row.model_sha256)
      let packed: Uint32Array | undefined
      if (layout && row.feature_counts_json !== null) {
        packed =
          row.bins_sha256 === layout.binsSha256
            ? packDriftCounts(
                layout,
                JSON.parse(row.feature_counts_json) as Record<string, number[]>,
                row.prediction_counts_json === null ? undefined : (JSON.parse(row.prediction_counts_json) as number[]),
              )
            : undefined
        if (!packed) result.unmatchedDriftWindows += 1
      }

      for (const resolution of ['minute', 'hour', 'day'] as const) {
        const bucketStartMs = floorToResolution(startMs, resolution)
        const key = `${resolution}\u0000${modelSha256}\u0000${bucketStartMs}`
        let accumulator = series.get(key)
        if (!accumulator) {
          accumulator = { resolution, modelSha256, bucketStartMs, windowCount: 0, requestCount: 0, errorCount: 0, latency: new Float64Array(LATENCY_BINS), drift: null }
          series.set(key, accumulator)
        }
        accumulator.windowCount += 1
        accumulator.requestCount += row.request_count
        accumulator.errorCount += row.error_count
        addInto(accumulator.latency, latency)
        if (packed && layout) {
          accumulator.drift ??= new Float64Array(layout.length)
          addInto(accumulator.drift, packed)
        }
      }
      for (const resolution of ['hour', 'day'] as const) {
        const bucketStartMs = floorToResolution(startMs, resolution)
        const key = `${resolution}\u0000${row.device_id}\u0000${bucketStartMs}\u0000${modelSha256}`
        let accumulator = deviceRollups.get(key)
        if (!accumulator) {
          accumulator = { resolution, deviceId: row.device_id, modelSha256, bucketStartMs, executionProvider: null, windowCount: 0, requestCount: 0, errorCount: 0, latency: new Float64Array(LATENCY_BINS) }
          deviceRollups.set(key, accumulator)
        }
        accumulator.executionProvider = row.execution_provider ?? accumulator.executionProvider
        accumulator.windowCount += 1
        accumulator.requestCount += row.request_count
        accumulator.errorCount += row.error_count
        addInto(accumulator.latency, latency)
      }
      if (packed && layout) {
        const bucketStartMs = floorToResolution(startMs, 'minute')
        const key = `${modelSha256}\u0000${row.device_id}\u0000${bucketStartMs}`
        let checkpoint = checkpoints.get(key)
        if (!checkpoint) {
          checkpoint = { modelSha256, deviceId: row.device_id, bucketStartMs, delta: new Uint32Array(layout.length) }
          checkpoints.set(key, checkpoint)
        }
        addInto(checkpoint.delta, packed)
        const deviceKey = `${modelSha256}\u0000${row.device_id}`
        const known = driftDevices.get(deviceKey)
        if (known) {
          known.first = Math.min(known.first, bucketStartMs)
          known.last = Math.max(known.last, bucketStartMs)
        } else {
          driftDevices.set(deviceKey, { modelSha256, deviceId: row.device_id, first: bucketStartMs, last: bucketStartMs })
        }
        const driftStep = advanceDriftStreak(streakOf(row.device_id, 'drift'), toStreakWindow(row), packed, layout, settings)
        streaks.set(`drift\u0000${row.device_id}`, driftStep.state)
        applyOutcome(row.device_id, 'drift', row.model_sha256, driftStep.outcome)
      }
      const latencyStep = advanceLatencyStreak(streakOf(row.device_id, 'latency'), toStreakWindow(row), latency, settings)
      streaks.set(`latency\u0000${row.device_id}`, latencyStep.state)
      applyOutcome(row.device_id, 'latency', row.model_sha256, latencyStep.outcome)
      if (result.latestWindowEndAt === null || row.window_end_at > result.latestWindowEndAt) result.latestWindowEndAt = row.window_end_at
    }

    for (const accumulator of series.values()) {
      upsertSeries.run(accumulator.resolution, accumulator.modelSha256, accumulator.bucketStartMs, accumulator.windowCount, accumulator.requestCount,
        accumulator.errorCount, encodeF64(accumulator.latency), accumulator.drift === null ? null : encodeF64(accumulator.drift))
    }
    for (const accumulator of deviceRollups.values()) {
      upsertDevice.run(accumulator.resolution, accumulator.deviceId, accumulator.bucketStartMs, accumulator.modelSha256, accumulator.executionProvider,
        accumulator.windowCount, accumulator.requestCount, accumulator.errorCount, encodeF64(accumulator.latency))
    }
    const seriesIds = new Map<string, number>()
    for (const [key, device] of driftDevices) {
      const series = upsertDriftDevice.get(device.modelSha256, device.deviceId, device.first, device.last)
      if (series) seriesIds.set(key, series.series_id)
    }
    for (const checkpoint of checkpoints.values()) {
      const { modelSha256, deviceId, bucketStartMs, delta } = checkpoint
      const series = seriesIds.get(`${modelSha256}\u0000${deviceId}`)
      if (series === undefined) continue
      openCheckpoint.run({ series, bucket: bucketStartMs, bytes: delta.byteLength })
      addToCheckpoints.run(encodeU32(delta), series, bucketStartMs)
    }
    for (const [key, state] of streaks) {
      const [kind = '', deviceId = ''] = key.split('\u0000')
      upsertStreak.run(deviceId, kind, JSON.stringify(state))
    }
    const lastRowid = rows[rows.length - 1]?.rowid ?? watermark
    writeWatermark.run(ROLLUP_WATERMARK_KEY, String(lastRowid))
    result.hasMore = hasPendingAbove.get(lastRowid) !== undefined
    return result
  })

  const deleteRaw = db.prepare<[string, number]>('DELETE FROM telemetry_windows WHERE received_at < ? AND rowid <= ?')
  const deleteSeries = db.prepare<[string, number]>('DELETE FROM telemetry_series WHERE resolution = ? AND bucket_start_ms < ?')
  const deleteDeviceRollups = db.prepare<[string, number]>('DELETE FROM telemetry_device_rollups WHERE resolution = ? AND bucket_start_ms < ?')
  // Thinning keeps the last checkpoint of each coarser bucket: totals stay exact at those boundaries.
  const thinCheckpoints = db.prepare<[{ bucketMs: number; fromMs: number; toMs: number }]>(`
    DELETE FROM drift_checkpoints WHERE rowid IN (
      SELECT rowid FROM (
        SELECT rowid, row_number() OVER (PARTITION BY series_id, CAST(bucket_start_ms / @bucketMs AS INTEGER) ORDER BY bucket_start_ms DESC) AS rank
        FROM drift_checkpoints WHERE bucket_start_ms >= @fromMs AND bucket_start_ms < @toMs)
      WHERE rank > 1)`)
  const thinnedUpTo = (key: string): number => Number(db.prepare<[string], { value: string }>('SELECT value FROM telemetry_state WHERE key = ?').get(key)?.value ?? 0)

  const retention = db.transaction((nowMs: number, policy: TelemetryRetention): RetentionResult => {
    const hourMs = RESOLUTION_MS.hour
    const dayMs = RESOLUTION_MS.day
    const rawWindowsDeleted = deleteRaw.run(isoAt(nowMs - policy.rawWindowDays * dayMs), readWatermark(db)).changes
    const seriesRowsDeleted =
      deleteSeries.run('minute', nowMs - policy.minuteSeriesHours * hourMs).changes + deleteSeries.run('hour', nowMs - policy.hourSeriesDays * dayMs).changes
    const deviceRollupsDeleted = deleteDeviceRollups.run('hour', nowMs - policy.hourSeriesDays * dayMs).changes
    let checkpointsThinned = 0
    // Each run thins from where the last one stopped, minus a look-back that also catches checkpoints which late
    // windows (or a lagging rollup) created behind it since; older stragglers only cost a few extra rows.
    const thin = (key: string, bucketMs: number, cutoffMs: number) => {
      const alignedCutoffMs = floorToResolution(cutoffMs, bucketMs === hourMs ? 'hour' : 'day')
      const fromMs = Math.max(0, thinnedUpTo(key) - THINNING_LOOK_BACK_BUCKETS * bucketMs)
      if (alignedCutoffMs <= fromMs) return
      checkpointsThinned += thinCheckpoints.run({ bucketMs, fromMs, toMs: alignedCutoffMs }).changes
      writeWatermark.run(key, String(alignedCutoffMs))
    }
    thin('checkpoints.thinned-to-hour', hourMs, nowMs - policy.minuteCheckpointHours * hourMs)
    thin('checkpoints.thinned-to-day', dayMs, nowMs - policy.hourCheckpointDays * dayMs)
    return { rawWindowsDeleted, seriesRowsDeleted, deviceRollupsDeleted, checkpointsThinned }
  })

  return {
    /** Consumes up to `maxWindows` windows above the watermark (synchronous, one transaction). */
    runPass(maxWindows = DEFAULT_PASS_WINDOWS): RollupPassResult {
      return pass(maxWindows)
    },
    /** Deletes and thins what the retention policy no longer keeps (one transaction). */
    applyRetention(nowMs: number, policy: TelemetryRetention = DEFAULT_TELEMETRY_RETENTION): RetentionResult {
      return retention(nowMs, policy)
    },
  }
}

export type TelemetryRollups = ReturnType<typeof createTelemetryRollups>

function toStreakWindow(row: RawRow) {
  return { reportSeq: row.report_seq, windowStartAt: row.window_start_at, windowEndAt: row.window_end_at, modelSha256: row.model_sha256 }
}

/**
 * Read side of the telemetry store: every dashboard and `outpost drift report` figure, aggregated in SQLite and
 * here, never in the renderer. Works on a read-only connection (the CLI): it never writes. Windows above the
 * rollup watermark (committed but not yet rolled up, normally under a second's worth) are read raw and added, so
 * answers are current to the last committed batch.
 *
 * Ranges are half-open [from, to). Drift ranges snap to the stored checkpoints: the start rounds down to the minute
 * (or to the hour/day where old checkpoints were thinned), the end rounds up to the next minute.
 */
import type {
  Alert,
  DeviceDriftDetail,
  DriftGrouping,
  DriftHeatmap,
  DriftReferenceSummary,
  DriftRow,
  DriftSettings,
  FleetOverview,
  HistogramOverlay,
  LatencyPoint,
  LatencySeries,
  PredictionSeries,
  ReleaseLabel,
  TelemetryWindowSummary,
  TimeResolution,
  WindowDetail,
} from '../../../src-shared/domain/drift.ts'
import { DeviceTags } from '../../../src-shared/domain/drift.ts'
import { AppError, BugError } from '../../../src-shared/errors.ts'
import { LATENCY_BUCKET_UPPER_MS, latencyQuantileMs } from '../../../src-shared/protocol/latencyHistogram.ts'
import { createDriftLayout, entryCounts, packDriftCounts, type DriftLayout, type LayoutEntry } from '../../core/drift/driftLayout.ts'
import {
  compareRowSummaries,
  evaluateEntry,
  evaluateRow,
  scoreAllMetrics,
  scoreEntry,
  summarizeCells,
  summarizeRow,
  verdictOf,
  type RowSummary,
} from '../../core/drift/evaluateDrift.ts'
import {
  checkpointResolutionAt,
  chooseSeriesResolution,
  DEFAULT_TELEMETRY_RETENTION,
  floorToResolution,
  isoAt,
  RESOLUTION_MS,
  type TelemetryRetention,
} from '../../core/drift/timeBuckets.ts'
import type { TimeRange } from '../../ports/TelemetryStore.ts'
import { alertFromRow } from './telemetryRollups.ts'
import { readAllReferences, readReference, type StoredReference } from './driftReferences.ts'
import type { SqliteDatabase } from './openDatabase.ts'
import { addF64Into, addU32Into, decodeF64, diffU32Into } from './telemetryBlobs.ts'
import { readWatermark } from './telemetryState.ts'

const LATENCY_BINS = LATENCY_BUCKET_UPPER_MS.length + 1
const MINUTE_MS = RESOLUTION_MS.minute
const UNKNOWN_COHORT = 'unknown'
const UNTAGGED_COHORT = 'untagged'

export type { TimeRange }

// ------------------------------------------------------------------------------------------------------ helpers

interface TailRow {
  device_id: string
  report_seq: number
  window_start_at: string
  window_end_at: string
  received_at: string
  model_sha256: string | null
  execution_provider: string | null
  request_count: number
  error_count: number
  latency_counts_json: string
  bins_sha256: string | null
  feature_counts_json: string | null
  prediction_counts_json: string | null
}

const TAIL_COLUMNS = `device_id, report_seq, window_start_at, window_end_at, received_at, model_sha256, execution_provider,
  request_count, error_count, latency_counts_json, bins_sha256, feature_counts_json, prediction_counts_json`

/** Committed windows the rollups have not consumed yet, starting in [fromMs, toMs). */
function readTail(db: SqliteDatabase, fromMs: number, toMs: number, modelSha256?: string): TailRow[] {
  const watermark = readWatermark(db)
  const rows =
    modelSha256 === undefined
      ? db.prepare<[number], TailRow>(`SELECT ${TAIL_COLUMNS} FROM telemetry_windows WHERE rowid > ?`).all(watermark)
      : db.prepare<[number, string], TailRow>(`SELECT ${TAIL_COLUMNS} FROM telemetry_windows WHERE rowid > ? AND model_sha256 = ?`).all(watermark, modelSha256)
  return rows.filter((row) => {
    const startMs = Date.parse(row.window_start_at)
    return startMs >= fromMs && startMs < toMs
  })
}

/** A window's drift counts as a flat vector of `layout`, or undefined when it has none usable. */
function packedCountsOf(layout: DriftLayout, row: Pick<TailRow, 'bins_sha256' | 'feature_counts_json' | 'prediction_counts_json'>): Uint32Array | undefined {
  if (row.feature_counts_json === null || row.bins_sha256 !== layout.binsSha256) return undefined
  return packDriftCounts(
    layout,
    JSON.parse(row.feature_counts_json) as Record<string, number[]>,
    row.prediction_counts_json === null ? undefined : (JSON.parse(row.prediction_counts_json) as number[]),
  )
}

function requireLayout(db: SqliteDatabase, modelSha256: string): { stored: StoredReference; layout: DriftLayout } {
  const stored = readReference(db, modelSha256)
  if (!stored) {
    throw new AppError('not-found', `No drift reference is registered for model ${modelSha256.slice(0, 12)}; register the release's reference bins first`, {
      modelSha256,
    })
  }
  return { stored, layout: createDriftLayout(stored.reference, stored.binsSha256) }
}

function checkRange(range: TimeRange): void {
  if (!Number.isFinite(range.fromMs) || !Number.isFinite(range.toMs) || range.toMs <= range.fromMs) {
    throw new AppError('invalid-input', 'The time range is empty or invalid; `to` must be after `from`', { fromMs: range.fromMs, toMs: range.toMs })
  }
}

/** Checkpoint keys of a range: totals strictly before `startKey` and strictly before `endKey`. */
function checkpointKeys(range: TimeRange, retention: TelemetryRetention): { startKey: number; endKey: number; effectiveFromMs: number } {
  const startKey = floorToResolution(range.fromMs, 'minute')
  const endKey = floorToResolution(range.toMs - 1, 'minute') + MINUTE_MS
  const effectiveFromMs = floorToResolution(range.fromMs, checkpointResolutionAt(range.fromMs, range.nowMs, retention))
  return { startKey, endKey, effectiveFromMs }
}

function percentilesOf(latency: ArrayLike<number>): { p50Ms: number; p95Ms: number; p99Ms: number } {
  const counts = Array.from(latency)
  return { p50Ms: latencyQuantileMs(counts, 0.5), p95Ms: latencyQuantileMs(counts, 0.95), p99Ms: latencyQuantileMs(counts, 0.99) }
}

function formatEdge(value: number): string {
  return Number(value.toPrecision(4)).toString()
}

/** "< 0.1", "[0.1, 0.5)", ">= 0.5"; class bins (edges k + 0.5) read "class k". */
export function binLabels(edges: readonly number[]): string[] {
  const isClassBins = edges.every((edge, index) => edge === index + 0.5)
  if (isClassBins) return Array.from({ length: edges.length + 1 }, (_, k) => `class ${k}`)
  return Array.from({ length: edges.length + 1 }, (_, index) => {
    if (index === 0) return `< ${formatEdge(edges[0] ?? 0)}`
    if (index === edges.length) return `>= ${formatEdge(edges[edges.length - 1] ?? 0)}`
    return `[${formatEdge(edges[index - 1] ?? 0)}, ${formatEdge(edges[index] ?? 0)})`
  })
}

/** A release's name for people: the reference label, else the model's name@version, else a short sha256. */
export function releaseLabelOf(db: SqliteDatabase, modelSha256: string | null): string {
  if (modelSha256 === null || modelSha256 === '') return 'no model'
  const reference = db.prepare<[string], { label: string }>('SELECT label FROM drift_references WHERE model_sha256 = ?').get(modelSha256)
  if (reference && reference.label !== '') return reference.label
  const model = db.prepare<[string], { name: string; version: string }>('SELECT name, version FROM models WHERE sha256 = ?').get(modelSha256)
  return model ? `${model.name}@${model.version}` : modelSha256.slice(0, 12)
}

/**
 * The model sha256 a reviewer means by `release`: a full or ≥8-character sha256 prefix, a model id (m-…),
 * name@version, or a reference label. Throws AppError 'not-found', or 'conflict' when a prefix is ambiguous.
 */
export function resolveRelease(db: SqliteDatabase, release: string): ReleaseLabel & { modelSha256: string } {
  const text = release.trim()
  const found = new Set<string>()
  if (/^[0-9a-f]{8,64}$/.test(text)) {
    for (const row of db.prepare<[string, string], { sha: string }>(`
      SELECT model_sha256 AS sha FROM drift_references WHERE model_sha256 LIKE ? || '%'
      UNION SELECT sha256 AS sha FROM models WHERE sha256 LIKE ? || '%'`).all(text, text)) found.add(row.sha)
  }
  if (found.size === 0) {
    const at = text.lastIndexOf('@')
    const byModel =
      at > 0
        ? db.prepare<[string, string], { sha: string }>('SELECT sha256 AS sha FROM models WHERE name = ? AND version = ?').all(text.slice(0, at), text.slice(at + 1))
        : db.prepare<[string], { sha: string }>('SELECT sha256 AS sha FROM models WHERE model_id = ?').all(text)
    for (const row of byModel) found.add(row.sha)
    for (const row of db.prepare<[string], { sha: string }>('SELECT model_sha256 AS sha FROM drift_references WHERE label = ?').all(text)) found.add(row.sha)
  }
  if (found.size > 1) throw new AppError('conflict', `'${release}' matches ${found.size} releases; give more of the sha256`, { release })
  const [modelSha256] = found
  if (modelSha256 === undefined) {
    throw new AppError('not-found', `No release matches '${release}'; use a model sha256 (or its first 8+ characters), a model id, name@version or a reference label`, { release })
  }
  return { modelSha256, label: releaseLabelOf(db, modelSha256) }
}

// ------------------------------------------------------------------------------------------------------ overview

export function queryFleetOverview(db: SqliteDatabase, nowMs: number): FleetOverview {
  const counts = db.prepare<[], { device_count: number; online_count: number | null }>('SELECT count(*) AS device_count, sum(is_online) AS online_count FROM devices').get()
  const versions = db
    .prepare<[], { name: string | null; version: string | null; sha: string | null; device_count: number; online_count: number }>(`
      SELECT json_extract(active_model_json, '$.name') AS name, json_extract(active_model_json, '$.version') AS version,
        json_extract(active_model_json, '$.sha256') AS sha, count(*) AS device_count, sum(is_online) AS online_count
      FROM devices GROUP BY 1, 2, 3 ORDER BY device_count DESC, name LIMIT 50`)
    .all()
  const byColumn = (expression: string) =>
    db
      .prepare<[], { name: string | null; device_count: number; online_count: number }>(
        `SELECT ${expression} AS name, count(*) AS device_count, sum(is_online) AS online_count FROM devices GROUP BY 1 ORDER BY device_count DESC, name LIMIT 50`,
      )
      .all()
      .map((row) => ({ name: row.name, deviceCount: row.device_count, onlineCount: row.online_count }))
  const activeAlertCount = db.prepare<[], { count: number }>('SELECT count(*) AS count FROM alerts WHERE cleared_at IS NULL').get()?.count ?? 0
  const alerts = db
    .prepare<[], Parameters<typeof alertFromRow>[0]>('SELECT * FROM alerts ORDER BY (cleared_at IS NULL) DESC, alert_id DESC LIMIT 20')
    .all()
    .map(alertFromRow)
  const hourAgoMs = nowMs - RESOLUTION_MS.hour
  const rolled = db
    .prepare<[number], { windows: number | null; requests: number | null; errors: number | null }>(`
      SELECT sum(window_count) AS windows, sum(request_count) AS requests, sum(error_count) AS errors
      FROM telemetry_series WHERE resolution = 'minute' AND bucket_start_ms >= ?`)
    .get(floorToResolution(hourAgoMs, 'minute'))
  const tail = readTail(db, floorToResolution(hourAgoMs, 'minute'), Number.POSITIVE_INFINITY)
  return {
    deviceCount: counts?.device_count ?? 0,
    onlineCount: counts?.online_count ?? 0,
    versions: versions.map((row) => ({
      name: row.name === null ? null : `${row.name}@${row.version ?? '?'}`,
      modelSha256: row.sha,
      deviceCount: row.device_count,
      onlineCount: row.online_count,
    })),
    executionProviders: byColumn('execution_provider'),
    arches: byColumn("json_extract(hardware_json, '$.arch')"),
    activeAlertCount,
    alerts,
    lastHour: {
      windowCount: (rolled?.windows ?? 0) + tail.length,
      requestCount: (rolled?.requests ?? 0) + tail.reduce((sum, row) => sum + row.request_count, 0),
      errorCount: (rolled?.errors ?? 0) + tail.reduce((sum, row) => sum + row.error_count, 0),
    },
  }
}

export function queryAlerts(db: SqliteDatabase, options: { activeOnly: boolean; limit: number }): Alert[] {
  return db
    .prepare<[number, number], Parameters<typeof alertFromRow>[0]>('SELECT * FROM alerts WHERE (? = 0 OR cleared_at IS NULL) ORDER BY alert_id DESC LIMIT ?')
    .all(options.activeOnly ? 1 : 0, options.limit)
    .map(alertFromRow)
}

export function queryReferences(db: SqliteDatabase): DriftReferenceSummary[] {
  return readAllReferences(db).map((stored) => ({
    modelSha256: stored.modelSha256,
    binsSha256: stored.binsSha256,
    label: stored.label === '' ? releaseLabelOf(db, stored.modelSha256) : stored.label,
    features: stored.reference.features.map((feature) => feature.name),
    hasPredictions: stored.reference.predictions !== undefined,
    referenceSampleCount: stored.reference.features[0]?.reference_counts.reduce((sum, count) => sum + count, 0) ?? 0,
    registeredAt: stored.registeredAt,
  }))
}

// ------------------------------------------------------------------------------------------------------ series

interface SeriesBucket {
  bucketStartMs: number
  modelSha256: string
  windowCount: number
  requestCount: number
  errorCount: number
  latency: Float64Array
  drift: Float64Array | null
}

/** Release-level buckets of a range at `resolution`, rollups plus the raw tail. */
function readSeries(db: SqliteDatabase, range: TimeRange, resolution: TimeResolution, modelSha256: string | undefined, driftLength: number): Map<string, SeriesBucket> {
  const fromBucketMs = floorToResolution(range.fromMs, resolution)
  const buckets = new Map<string, SeriesBucket>()
  const bucketOf = (model: string, bucketStartMs: number) => {
    const key = `${model}\u0000${bucketStartMs}`
    let bucket = buckets.get(key)
    if (!bucket) {
      bucket = { bucketStartMs, modelSha256: model, windowCount: 0, requestCount: 0, errorCount: 0, latency: new Float64Array(LATENCY_BINS), drift: driftLength > 0 ? new Float64Array(driftLength) : null }
      buckets.set(key, bucket)
    }
    return bucket
  }
  interface SeriesRow {
    model_sha256: string
    bucket_start_ms: number
    window_count: number
    request_count: number
    error_count: number
    latency_counts: Buffer
    drift_counts: Buffer | null
  }
  const rows =
    modelSha256 === undefined
      ? db
          .prepare<[string, number, number], SeriesRow>(
            'SELECT * FROM telemetry_series WHERE resolution = ? AND bucket_start_ms >= ? AND bucket_start_ms < ? ORDER BY bucket_start_ms',
          )
          .all(resolution, fromBucketMs, range.toMs)
      : db
          .prepare<[string, string, number, number], SeriesRow>(
            'SELECT * FROM telemetry_series WHERE resolution = ? AND model_sha256 = ? AND bucket_start_ms >= ? AND bucket_start_ms < ? ORDER BY bucket_start_ms',
          )
          .all(resolution, modelSha256, fromBucketMs, range.toMs)
  for (const row of rows) {
    const bucket = bucketOf(row.model_sha256, row.bucket_start_ms)
    bucket.windowCount += row.window_count
    bucket.requestCount += row.request_count
    bucket.errorCount += row.error_count
    addF64Into(bucket.latency, row.latency_counts)
    if (bucket.drift && row.drift_counts) addF64Into(bucket.drift, row.drift_counts)
  }
  const layout = modelSha256 === undefined || driftLength === 0 ? undefined : requireLayout(db, modelSha256).layout
  for (const row of readTail(db, fromBucketMs, range.toMs, modelSha256)) {
    const bucket = bucketOf(row.model_sha256 ?? '', floorToResolution(Date.parse(row.window_start_at), resolution))
    bucket.windowCount += 1
    bucket.requestCount += row.request_count
    bucket.errorCount += row.error_count
    const latency = JSON.parse(row.latency_counts_json) as number[]
    for (let i = 0; i < Math.min(latency.length, LATENCY_BINS); i++) bucket.latency[i] = (bucket.latency[i] as number) + (latency[i] as number)
    const packed = layout && bucket.drift ? packedCountsOf(layout, row) : undefined
    if (packed && bucket.drift) for (let i = 0; i < packed.length; i++) bucket.drift[i] = (bucket.drift[i] as number) + (packed[i] as number)
  }
  return buckets
}

/** Latency p50/p95/p99 per time bucket and release: histograms merged per bucket, quantiles from the merge. */
export function queryLatencySeries(db: SqliteDatabase, range: TimeRange, options: { modelSha256?: string; retention?: TelemetryRetention } = {}): LatencySeries {
  checkRange(range)
  const resolution = chooseSeriesResolution(range.fromMs, range.toMs, range.nowMs, options.retention ?? DEFAULT_TELEMETRY_RETENTION)
  const buckets = [...readSeries(db, range, resolution, options.modelSha256, 0).values()].sort(
    (left, right) => left.bucketStartMs - right.bucketStartMs || left.modelSha256.localeCompare(right.modelSha256),
  )
  const models = [...new Set(buckets.map((bucket) => bucket.modelSha256))]
  const points: LatencyPoint[] = buckets.map((bucket) => ({
    bucketStartAt: isoAt(bucket.bucketStartMs),
    modelSha256: bucket.modelSha256 === '' ? null : bucket.modelSha256,
    ...percentilesOf(bucket.latency),
    requestCount: bucket.requestCount,
    errorCount: bucket.errorCount,
  }))
  return {
    fromAt: isoAt(range.fromMs),
    toAt: isoAt(range.toMs),
    resolution,
    releases: models.map((model) => ({ modelSha256: model === '' ? null : model, label: releaseLabelOf(db, model) })),
    points,
  }
}

/** The release's prediction bins per time bucket. Throws 'not-found' without a reference, 'invalid-input' without prediction bins. */
export function queryPredictionSeries(db: SqliteDatabase, modelSha256: string, range: TimeRange, retention: TelemetryRetention = DEFAULT_TELEMETRY_RETENTION): PredictionSeries {
  checkRange(range)
  const { layout } = requireLayout(db, modelSha256)
  const prediction = layout.prediction
  if (!prediction) throw new AppError('invalid-input', 'This release has no prediction bins in its drift reference', { modelSha256 })
  const resolution = chooseSeriesResolution(range.fromMs, range.toMs, range.nowMs, retention)
  const buckets = [...readSeries(db, range, resolution, modelSha256, layout.length).values()].sort((left, right) => left.bucketStartMs - right.bucketStartMs)
  return {
    modelSha256,
    fromAt: isoAt(range.fromMs),
    toAt: isoAt(range.toMs),
    resolution,
    binLabels: binLabels(prediction.feature.bin_edges),
    referenceCounts: [...prediction.feature.reference_counts],
    points: buckets.map((bucket) => {
      const counts = bucket.drift ? entryCounts(prediction, bucket.drift) : new Array<number>(prediction.binCount).fill(0)
      return { bucketStartAt: isoAt(bucket.bucketStartMs), counts, total: counts.reduce((sum, count) => sum + count, 0) }
    }),
  }
}

// ------------------------------------------------------------------------------------------------------ drift

interface DeviceCounts {
  deviceId: string
  arch: string | null
  executionProvider: string | null
  modelVersion: string | null
  tags: string[]
  counts: Uint32Array
}

interface DeviceAttributesRow {
  arch: string | null
  execution_provider: string | null
  tags_json: string | null
  model_version: string | null
}

function parseTags(tagsJson: string | null): string[] {
  if (tagsJson === null) return []
  const parsed = DeviceTags.safeParse(JSON.parse(tagsJson))
  return parsed.success ? parsed.data : []
}

/**
 * Every device's drift counts over a range: totals(end) − totals(start) from two checkpoint rows per device (one
 * when the device began after the start), plus the raw tail. `onlyDeviceId` narrows it to one device.
 */
function readDeviceCounts(
  db: SqliteDatabase,
  layout: DriftLayout,
  modelSha256: string,
  startKey: number,
  endKey: number,
  options: { onlyDeviceId?: string | undefined; withAttributes: boolean },
): Map<string, DeviceCounts> {
  const onlyDeviceId = options.onlyDeviceId
  interface Row extends DeviceAttributesRow {
    device_id: string
    end_totals: Buffer | null
    start_totals: Buffer | null
  }
  const sql = `
    SELECT dd.device_id,
      (SELECT totals FROM drift_checkpoints c WHERE c.series_id = dd.series_id AND c.bucket_start_ms < @endKey
        ORDER BY c.bucket_start_ms DESC LIMIT 1) AS end_totals,
      CASE WHEN dd.first_bucket_ms < @startKey THEN (SELECT totals FROM drift_checkpoints c WHERE c.series_id = dd.series_id
        AND c.bucket_start_ms < @startKey ORDER BY c.bucket_start_ms DESC LIMIT 1) END AS start_totals,
      ${
        options.withAttributes
          ? `json_extract(d.hardware_json, '$.arch') AS arch, d.execution_provider, d.tags_json,
             json_extract(d.active_model_json, '$.version') AS model_version
             FROM drift_devices dd LEFT JOIN devices d ON d.device_id = dd.device_id`
          : 'NULL AS arch, NULL AS execution_provider, NULL AS tags_json, NULL AS model_version FROM drift_devices dd'
      }
    WHERE dd.model_sha256 = @modelSha256 AND dd.last_bucket_ms >= @startKey AND dd.first_bucket_ms < @endKey
      ${onlyDeviceId === undefined ? '' : 'AND dd.device_id = @deviceId'}`
  const parameters = { startKey, endKey, modelSha256, ...(onlyDeviceId === undefined ? {} : { deviceId: onlyDeviceId }) }
  const rows = db.prepare<[typeof parameters], Row>(sql).all(parameters)
  const devices = new Map<string, DeviceCounts>()
  // One allocation for every device's counts; each device gets a view of its slice.
  const pool = new Uint32Array(rows.length * layout.length)
  let used = 0
  const withAttributes = (deviceId: string, attributes: DeviceAttributesRow | undefined): DeviceCounts => {
    const counts = used < rows.length ? pool.subarray(used * layout.length, (used + 1) * layout.length) : new Uint32Array(layout.length)
    used += 1
    return {
      deviceId,
      arch: attributes?.arch ?? null,
      executionProvider: attributes?.execution_provider ?? null,
      modelVersion: attributes?.model_version ?? null,
      tags: parseTags(attributes?.tags_json ?? null),
      counts,
    }
  }
  for (const row of rows) {
    if (row.end_totals === null) continue
    const device = withAttributes(row.device_id, row)
    diffU32Into(device.counts, row.end_totals, row.start_totals)
    devices.set(row.device_id, device)
  }
  const selectAttributes = db.prepare<[string], DeviceAttributesRow>(`
    SELECT json_extract(hardware_json, '$.arch') AS arch, execution_provider, tags_json,
      json_extract(active_model_json, '$.version') AS model_version FROM devices WHERE device_id = ?`)
  for (const row of readTail(db, startKey, endKey, modelSha256)) {
    if (onlyDeviceId !== undefined && row.device_id !== onlyDeviceId) continue
    const packed = packedCountsOf(layout, row)
    if (!packed) continue
    let device = devices.get(row.device_id)
    if (!device) {
      device = withAttributes(row.device_id, selectAttributes.get(row.device_id))
      devices.set(row.device_id, device)
    }
    for (let i = 0; i < packed.length; i++) device.counts[i] = (device.counts[i] as number) + (packed[i] as number)
  }
  return devices
}

function cohortKeys(device: DeviceCounts, by: DriftGrouping): string[] {
  switch (by) {
    case 'device':
      return [device.deviceId]
    case 'arch':
      return [device.arch ?? UNKNOWN_COHORT]
    case 'executionProvider':
      return [device.executionProvider ?? UNKNOWN_COHORT]
    case 'modelVersion':
      return [device.modelVersion ?? UNKNOWN_COHORT]
    case 'tag':
      return device.tags.length === 0 ? [UNTAGGED_COHORT] : device.tags
  }
}

function groupCounts(devices: Iterable<DeviceCounts>, by: DriftGrouping, length: number): Map<string, { counts: ArrayLike<number>; deviceCount: number }> {
  const groups = new Map<string, { counts: ArrayLike<number>; deviceCount: number }>()
  if (by === 'device') {
    for (const device of devices) groups.set(device.deviceId, { counts: device.counts, deviceCount: 1 })
    return groups
  }
  for (const device of devices) {
    for (const key of cohortKeys(device, by)) {
      let group = groups.get(key) as { counts: Float64Array; deviceCount: number } | undefined
      if (!group) {
        group = { counts: new Float64Array(length), deviceCount: 0 }
        groups.set(key, group)
      }
      group.deviceCount += 1
      for (let i = 0; i < length; i++) group.counts[i] = (group.counts[i] as number) + (device.counts[i] as number)
    }
  }
  return groups
}

export interface HeatmapOptions {
  by: DriftGrouping
  settings: DriftSettings
  /** How many rows to return (the most drifting first); the totals always cover every row. */
  limit: number
  retention?: TelemetryRetention
}

/** Features × devices (or cohorts) for one release over a range. Throws 'not-found' without a reference. */
export function queryDriftHeatmap(db: SqliteDatabase, modelSha256: string, range: TimeRange, options: HeatmapOptions): DriftHeatmap {
  checkRange(range)
  const { stored, layout } = requireLayout(db, modelSha256)
  const { startKey, endKey, effectiveFromMs } = checkpointKeys(range, options.retention ?? DEFAULT_TELEMETRY_RETENTION)
  const devices = readDeviceCounts(db, layout, modelSha256, startKey, endKey, { withAttributes: options.by !== 'device' })
  const groups = groupCounts(devices.values(), options.by, layout.length)
  // Rank every row from its counts alone; only the rows returned get their cells built.
  const driftingPerFeature = new Uint32Array(layout.features.length)
  const summaries: RowSummary[] = []
  for (const [key, group] of groups) summaries.push(summarizeRow(layout, key, group.counts, options.settings, driftingPerFeature))
  summaries.sort(compareRowSummaries)
  const rows: DriftRow[] = summaries.slice(0, options.limit).map((summary) => {
    const group = groups.get(summary.key)
    if (!group) throw new BugError(`heatmap row ${summary.key} has no counts`)
    return evaluateRow(layout, summary.key, group.deviceCount, group.counts, options.settings)
  })
  return {
    modelSha256,
    binsSha256: stored.binsSha256,
    releaseLabel: stored.label === '' ? releaseLabelOf(db, modelSha256) : stored.label,
    by: options.by,
    metric: options.settings.metric,
    threshold: options.settings.threshold,
    minSamples: options.settings.minSamples,
    fromAt: isoAt(range.fromMs),
    toAt: isoAt(range.toMs),
    effectiveFromAt: isoAt(Math.min(effectiveFromMs, startKey)),
    features: layout.features.map((entry) => entry.name),
    hasPredictions: layout.prediction !== null,
    rows,
    totalRows: summaries.length,
    driftingRows: summaries.filter((summary) => summary.verdict === 'drift').length,
    insufficientRows: summaries.filter((summary) => summary.verdict === 'insufficient').length,
    featureDriftCounts: Array.from(driftingPerFeature),
  }
}

function entryByName(layout: DriftLayout, feature: string): LayoutEntry {
  const entry = layout.features.find((candidate) => candidate.name === feature) ?? (layout.prediction?.name === feature ? layout.prediction : undefined)
  if (!entry) throw new AppError('not-found', `The release's drift reference has no feature '${feature}'`, { feature })
  return entry
}

export interface OverlayScope {
  by: DriftGrouping
  key: string
}

/**
 * Reference vs live counts of one feature (or the prediction entry, by its name). Without a scope: the whole
 * release from the series rollups; with one: the device or cohort from the checkpoints.
 */
export function queryHistogramOverlay(
  db: SqliteDatabase,
  modelSha256: string,
  feature: string,
  range: TimeRange,
  options: { scope: OverlayScope | null; settings: DriftSettings; retention?: TelemetryRetention },
): HistogramOverlay {
  checkRange(range)
  const retention = options.retention ?? DEFAULT_TELEMETRY_RETENTION
  const { layout } = requireLayout(db, modelSha256)
  const entry = entryByName(layout, feature)
  let live: ArrayLike<number>
  if (options.scope === null) {
    const resolution = chooseSeriesResolution(range.fromMs, range.toMs, range.nowMs, retention)
    const sum = new Float64Array(layout.length)
    for (const bucket of readSeries(db, range, resolution, modelSha256, layout.length).values()) {
      if (bucket.drift) for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (bucket.drift[i] as number)
    }
    live = sum
  } else {
    const { startKey, endKey } = checkpointKeys(range, retention)
    const scope = options.scope
    const devices = readDeviceCounts(db, layout, modelSha256, startKey, endKey, { onlyDeviceId: scope.by === 'device' ? scope.key : undefined, withAttributes: scope.by !== 'device' })
    const members = [...devices.values()].filter((device) => cohortKeys(device, scope.by).includes(scope.key))
    live = sumCounts(members, layout.length)
  }
  const liveCounts = entryCounts(entry, live)
  const { score, n } = scoreEntry(entry, options.settings.metric, live)
  return {
    modelSha256,
    feature: entry.name,
    scope: { by: options.scope?.by ?? null, key: options.scope?.key ?? null },
    fromAt: isoAt(range.fromMs),
    toAt: isoAt(range.toMs),
    binEdges: [...entry.feature.bin_edges],
    binLabels: binLabels(entry.feature.bin_edges),
    referenceCounts: [...entry.feature.reference_counts],
    liveCounts,
    sampleCount: n,
    scores: scoreAllMetrics(entry, live),
    verdict: verdictOf(score, n, options.settings),
  }
}

function sumCounts(devices: readonly DeviceCounts[], length: number): Float64Array {
  const sum = new Float64Array(length)
  for (const device of devices) for (let i = 0; i < length; i++) sum[i] = (sum[i] as number) + (device.counts[i] as number)
  return sum
}

// ------------------------------------------------------------------------------------------------------ drill-down

interface WindowRow extends TailRow {
  rowid: number
}

function summarizeWindow(row: TailRow, layout: DriftLayout | null, settings: DriftSettings): { summary: TelemetryWindowSummary; packed: Uint32Array | undefined } {
  const latency = JSON.parse(row.latency_counts_json) as number[]
  const packed = layout ? packedCountsOf(layout, row) : undefined
  let driftShare: number | null = null
  let verdict: TelemetryWindowSummary['verdict'] = 'insufficient'
  let sampleCount = 0
  if (layout && packed) {
    const cells = layout.features.map((entry) => evaluateEntry(entry, packed, settings))
    sampleCount = cells[0]?.sampleCount ?? 0
    const summary = summarizeCells(cells, settings)
    driftShare = summary.driftShare
    verdict = summary.verdict
  }
  return {
    summary: {
      deviceId: row.device_id,
      reportSeq: row.report_seq,
      windowStartAt: row.window_start_at,
      windowEndAt: row.window_end_at,
      receivedAt: row.received_at,
      modelSha256: row.model_sha256,
      executionProvider: row.execution_provider,
      requestCount: row.request_count,
      errorCount: row.error_count,
      p95Ms: latencyQuantileMs(latency, 0.95),
      sampleCount,
      driftShare,
      verdict,
    },
    packed,
  }
}

const MAX_DETAIL_POINTS = 120

/** One device of a release: its row over the range, drift over time, latency over time and its newest windows. */
export function queryDeviceDriftDetail(
  db: SqliteDatabase,
  modelSha256: string,
  deviceId: string,
  range: TimeRange,
  options: { settings: DriftSettings; windowLimit: number; retention?: TelemetryRetention },
): DeviceDriftDetail {
  checkRange(range)
  const retention = options.retention ?? DEFAULT_TELEMETRY_RETENTION
  const { layout } = requireLayout(db, modelSha256)
  const device = db.prepare<[string], { tags_json: string }>('SELECT tags_json FROM devices WHERE device_id = ?').get(deviceId)
  if (!device) throw new AppError('not-found', `Device ${deviceId} is not registered`, { deviceId })
  const { startKey, endKey } = checkpointKeys(range, retention)
  const counts = readDeviceCounts(db, layout, modelSha256, startKey, endKey, { onlyDeviceId: deviceId, withAttributes: false }).get(deviceId)
  const row = counts ? evaluateRow(layout, deviceId, 1, counts.counts, options.settings) : null

  // Drift over time: differences of consecutive checkpoints, stepped so there are at most MAX_DETAIL_POINTS.
  const spanMs = endKey - startKey
  const stepResolution: TimeResolution = spanMs <= MAX_DETAIL_POINTS * MINUTE_MS ? 'minute' : spanMs <= MAX_DETAIL_POINTS * RESOLUTION_MS.hour ? 'hour' : 'day'
  const stepMs = RESOLUTION_MS[stepResolution]
  const checkpoints = db
    .prepare<[string, string, number], { bucket_start_ms: number; totals: Buffer }>(
      `SELECT c.bucket_start_ms, c.totals FROM drift_checkpoints c JOIN drift_devices dd ON dd.series_id = c.series_id
       WHERE dd.model_sha256 = ? AND dd.device_id = ? AND c.bucket_start_ms < ? ORDER BY c.bucket_start_ms`,
    )
    .all(modelSha256, deviceId, endKey)
  const totalsBefore = (keyMs: number): Uint32Array => {
    const totals = new Uint32Array(layout.length)
    let found: Buffer | undefined
    for (const checkpoint of checkpoints) {
      if (checkpoint.bucket_start_ms < keyMs) found = checkpoint.totals
      else break
    }
    if (found) addU32Into(totals, found)
    return totals
  }
  const series: DeviceDriftDetail['series'] = []
  for (let bucketMs = floorToResolution(startKey, stepResolution); bucketMs < endKey; bucketMs += stepMs) {
    const end = totalsBefore(bucketMs + stepMs)
    const start = totalsBefore(bucketMs)
    const delta = new Uint32Array(layout.length)
    for (let i = 0; i < delta.length; i++) delta[i] = (end[i] as number) - (start[i] as number)
    const cells = layout.features.map((entry) => evaluateEntry(entry, delta, options.settings))
    if (cells.every((cell) => cell.sampleCount === 0)) continue
    series.push({ bucketStartAt: isoAt(bucketMs), driftShare: summarizeCells(cells, options.settings).driftShare, scores: cells.map((cell) => cell.score) })
  }

  const latencyResolution = spanMs <= 2 * RESOLUTION_MS.day ? 'hour' : 'day'
  const latency = db
    .prepare<[string, string, string, number, number], { bucket_start_ms: number; request_count: number; error_count: number; latency_counts: Buffer }>(`
      SELECT bucket_start_ms, request_count, error_count, latency_counts FROM telemetry_device_rollups
      WHERE resolution = ? AND device_id = ? AND model_sha256 = ? AND bucket_start_ms >= ? AND bucket_start_ms < ? ORDER BY bucket_start_ms`)
    .all(latencyResolution, deviceId, modelSha256, floorToResolution(range.fromMs, latencyResolution), range.toMs)
    .map((rollup) => ({
      bucketStartAt: isoAt(rollup.bucket_start_ms),
      modelSha256,
      ...percentilesOf(decodeF64(rollup.latency_counts)),
      requestCount: rollup.request_count,
      errorCount: rollup.error_count,
    }))

  const windows = db
    .prepare<[string, string, string, string, number], WindowRow>(`
      SELECT rowid, ${TAIL_COLUMNS} FROM telemetry_windows WHERE device_id = ? AND model_sha256 = ?
        AND window_start_at >= ? AND window_start_at < ? ORDER BY report_seq DESC LIMIT ?`)
    .all(deviceId, modelSha256, isoAt(range.fromMs), isoAt(range.toMs), options.windowLimit)
    .map((window) => summarizeWindow(window, layout, options.settings).summary)

  return {
    deviceId,
    modelSha256,
    tags: parseTags(device.tags_json),
    fromAt: isoAt(range.fromMs),
    toAt: isoAt(range.toMs),
    features: layout.features.map((entry) => entry.name),
    row,
    series,
    latency,
    windows,
  }
}

/** One raw window against its model's reference. Throws 'not-found' when the window is gone (pruned) or unknown. */
export function queryWindowDetail(db: SqliteDatabase, deviceId: string, reportSeq: number, settings: DriftSettings): WindowDetail {
  const row = db.prepare<[string, number], WindowRow>(`SELECT rowid, ${TAIL_COLUMNS} FROM telemetry_windows WHERE device_id = ? AND report_seq = ?`).get(deviceId, reportSeq)
  if (!row) {
    throw new AppError('not-found', `Window ${reportSeq} of device ${deviceId} is not stored (raw windows are kept for the retention period)`, { deviceId, reportSeq })
  }
  const stored = row.model_sha256 === null ? undefined : readReference(db, row.model_sha256)
  const layout = stored ? createDriftLayout(stored.reference, stored.binsSha256) : null
  const { summary, packed } = summarizeWindow(row, layout, settings)
  return {
    window: summary,
    features: layout?.features.map((entry) => entry.name) ?? [],
    cells: layout && packed ? layout.features.map((entry) => evaluateEntry(entry, packed, settings)) : [],
    prediction: layout?.prediction && packed ? evaluateEntry(layout.prediction, packed, settings) : null,
    latencyCounts: JSON.parse(row.latency_counts_json) as number[],
  }
}

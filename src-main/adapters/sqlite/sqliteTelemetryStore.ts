/**
 * The telemetry store over one SQLite connection: the rollup job, the read queries and the drift configuration
 * (reference bins, settings, device tags), behind the ports of src-main/ports/TelemetryStore.ts.
 */
import { createHash } from 'node:crypto'
import { DEFAULT_DRIFT_SETTINGS, DeviceTags, DriftReference, DriftSettings, type DriftReferenceSummary } from '../../../src-shared/domain/drift.ts'
import { driftReferenceSha256 } from '../../../src-shared/domain/driftBinning.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { DEFAULT_TELEMETRY_RETENTION, type TelemetryRetention } from '../../core/drift/timeBuckets.ts'
import type { DriftStore, TelemetryQueries, TelemetryRollupJob } from '../../ports/TelemetryStore.ts'
import { createLayoutCache } from './driftReferences.ts'
import {
  queryAlerts,
  queryDeviceDriftDetail,
  queryDriftHeatmap,
  queryFleetOverview,
  queryHistogramOverlay,
  queryLatencySeries,
  queryPredictionSeries,
  queryReferences,
  queryWindowDetail,
  resolveRelease,
} from './driftQueries.ts'
import type { SqliteDatabase } from './openDatabase.ts'
import { createTelemetryRollups } from './telemetryRollups.ts'
import { DRIFT_SETTINGS_KEY, readStateValue } from './telemetryState.ts'

export const nodeSha256 = (bytes: Uint8Array): Uint8Array => createHash('sha256').update(bytes).digest()

/** Stored settings over the defaults: a setting added in a later version takes its default until it is set. */
export function readDriftSettings(db: SqliteDatabase): DriftSettings {
  const stored = readStateValue(db, DRIFT_SETTINGS_KEY)
  if (stored === undefined) return DEFAULT_DRIFT_SETTINGS
  const parsed = DriftSettings.safeParse({ ...DEFAULT_DRIFT_SETTINGS, ...(JSON.parse(stored) as object) })
  return parsed.success ? parsed.data : DEFAULT_DRIFT_SETTINGS
}

/**
 * Drift queries read one checkpoint row per device from all over a large table; through the default page cache
 * that is one pread per row. Memory-mapped reads make that a memory copy (measured 2-3x faster on the 10,000-device
 * heatmap). The map is address space, not memory; the pragma only affects reads of this connection.
 */
export const TELEMETRY_MMAP_BYTES = 1024 * 1024 * 1024

export function enableMappedReads(db: SqliteDatabase): void {
  db.pragma(`mmap_size = ${TELEMETRY_MMAP_BYTES}`)
}

/** The read side alone, for read-only connections (the CLI). */
export function createSqliteTelemetryQueries(db: SqliteDatabase, retention: TelemetryRetention = DEFAULT_TELEMETRY_RETENTION): TelemetryQueries {
  return {
    overview: async (nowMs) => queryFleetOverview(db, nowMs),
    latency: async (range, modelSha256) => queryLatencySeries(db, range, modelSha256 === undefined ? { retention } : { modelSha256, retention }),
    predictions: async (modelSha256, range) => queryPredictionSeries(db, modelSha256, range, retention),
    heatmap: async (modelSha256, range, options) => queryDriftHeatmap(db, modelSha256, range, { ...options, retention }),
    overlay: async (modelSha256, feature, range, options) => queryHistogramOverlay(db, modelSha256, feature, range, { ...options, retention }),
    deviceDetail: async (modelSha256, deviceId, range, options) => queryDeviceDriftDetail(db, modelSha256, deviceId, range, { ...options, retention }),
    windowDetail: async (deviceId, reportSeq, settings) => queryWindowDetail(db, deviceId, reportSeq, settings),
    alerts: async (options) => queryAlerts(db, options),
    references: async () => queryReferences(db),
    resolveRelease: async (release) => resolveRelease(db, release),
  }
}

export interface SqliteTelemetryStoreOptions {
  retention?: TelemetryRetention
  nowIso: () => string
}

export function createSqliteTelemetryStore(db: SqliteDatabase, options: SqliteTelemetryStoreOptions) {
  const retention = options.retention ?? DEFAULT_TELEMETRY_RETENTION
  enableMappedReads(db)
  const layouts = createLayoutCache(db)
  let settings = readDriftSettings(db)
  const rollups = createTelemetryRollups(db, { layouts, settings: () => settings, nowIso: options.nowIso })

  const writeState = db.prepare<[string, string]>('INSERT INTO telemetry_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
  const upsertReference = db.prepare<[string, string, string, string, string]>(`
    INSERT INTO drift_references (model_sha256, bins_sha256, label, reference_json, registered_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (model_sha256) DO UPDATE SET bins_sha256 = excluded.bins_sha256, label = excluded.label,
      reference_json = excluded.reference_json, registered_at = excluded.registered_at`)
  const replaceReference = db.transaction((modelSha256: string, binsSha256: string, label: string, referenceJson: string, registeredAt: string) => {
    const previous = db.prepare<[string], { bins_sha256: string }>('SELECT bins_sha256 FROM drift_references WHERE model_sha256 = ?').get(modelSha256)
    if (previous && previous.bins_sha256 !== binsSha256) {
      // Counts in the old bins cannot be compared with the new reference: drop them rather than mislead.
      db.prepare('DELETE FROM drift_checkpoints WHERE series_id IN (SELECT series_id FROM drift_devices WHERE model_sha256 = ?)').run(modelSha256)
      db.prepare('DELETE FROM drift_devices WHERE model_sha256 = ?').run(modelSha256)
      db.prepare('UPDATE telemetry_series SET drift_counts = NULL WHERE model_sha256 = ?').run(modelSha256)
    }
    upsertReference.run(modelSha256, binsSha256, label, referenceJson, registeredAt)
  })

  const rollupJob: TelemetryRollupJob = {
    runPass: async (maxWindows) => rollups.runPass(maxWindows),
    applyRetention: async (nowMs) => rollups.applyRetention(nowMs, retention),
  }

  const queries = createSqliteTelemetryQueries(db, retention)

  const driftStore: DriftStore = {
    async registerReference(modelSha256, reference, label, registeredAt): Promise<DriftReferenceSummary> {
      const parsed = DriftReference.parse(reference)
      const binsSha256 = driftReferenceSha256(parsed, nodeSha256)
      replaceReference(modelSha256, binsSha256, label, JSON.stringify(parsed), registeredAt)
      layouts.forget(modelSha256)
      const summary = (await queries.references()).find((candidate) => candidate.modelSha256 === modelSha256)
      if (!summary) throw new AppError('internal', 'The drift reference was not stored')
      return summary
    },
    async readSettings() {
      return settings
    },
    async writeSettings(next) {
      settings = DriftSettings.parse(next)
      writeState.run(DRIFT_SETTINGS_KEY, JSON.stringify(settings))
    },
    async setDeviceTags(deviceId, tags) {
      const unique = [...new Set(DeviceTags.parse(tags))].sort()
      const changes = db.prepare<[string, string]>('UPDATE devices SET tags_json = ? WHERE device_id = ?').run(JSON.stringify(unique), deviceId).changes
      if (changes === 0) throw new AppError('not-found', `Device ${deviceId} is not registered`, { deviceId })
      return unique
    },
  }

  return { rollups, rollupJob, queries, driftStore, layouts }
}

export type SqliteTelemetryStore = ReturnType<typeof createSqliteTelemetryStore>

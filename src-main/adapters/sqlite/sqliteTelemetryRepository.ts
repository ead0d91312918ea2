/**
 * Telemetry ingest: windows are queued and written in one transaction per batch (at most `maxBatchRows` rows, or
 * whatever arrived within `maxDelayMs` of the first queued row), with one prepared statement. insert() resolves
 * after the batch committed, with whether the window was new: QoS 1 delivers at least once, and the primary key
 * (device_id, report_seq) turns a redelivery into a no-op, also when both copies sit in the same batch.
 *
 * Late and out-of-order windows are stored like any other; the rollups (telemetryRollups.ts) place them in their
 * own time buckets. Pruning deletes only windows the rollups have already consumed.
 */
import type { TelemetryWindow } from '../../../src-shared/protocol/messages.ts'
import type { TelemetryRepository } from '../../ports/TelemetryRepository.ts'
import type { SqliteDatabase } from './openDatabase.ts'
import { ROLLUP_WATERMARK_KEY } from './telemetryState.ts'

export const DEFAULT_MAX_BATCH_ROWS = 500
export const DEFAULT_MAX_BATCH_DELAY_MS = 200

export interface TelemetryIngestOptions {
  maxBatchRows?: number
  maxDelayMs?: number
  /** Called after each committed batch with the number of new windows (e.g. to schedule a rollup pass). */
  onCommitted?: (newWindowCount: number) => void
}

export interface TelemetryIngestStats {
  storedWindows: number
  duplicateWindows: number
  committedBatches: number
  failedBatches: number
  pendingWindows: number
}

export interface BatchingTelemetryRepository extends TelemetryRepository {
  /** Commits whatever is queued now. */
  flush(): Promise<void>
  /** Commits what is queued; later inserts are refused. Call before closing the database. */
  close(): Promise<void>
  stats(): TelemetryIngestStats
}

type Row = [
  deviceId: string,
  reportSeq: number,
  windowStartAt: string,
  windowEndAt: string,
  modelSha256: string | null,
  executionProvider: string | null,
  requestCount: number,
  errorCount: number,
  latencyCountsJson: string,
  rssBytes: number,
  receivedAt: string,
  binsSha256: string | null,
  featureCountsJson: string | null,
  predictionCountsJson: string | null,
]

interface Pending {
  row: Row
  resolve: (isNew: boolean) => void
  reject: (error: unknown) => void
}

function toRow(window: TelemetryWindow, receivedAt: string): Row {
  return [
    window.deviceId,
    window.reportSeq,
    window.windowStartAt,
    window.windowEndAt,
    window.modelSha256,
    window.executionProvider,
    window.requestCount,
    window.errorCount,
    JSON.stringify(window.latencyCounts),
    window.rssBytes,
    receivedAt,
    window.binsSha256 ?? null,
    window.featureCounts === undefined ? null : JSON.stringify(window.featureCounts),
    window.predictionCounts === undefined ? null : JSON.stringify(window.predictionCounts),
  ]
}

export function createSqliteTelemetryRepository(db: SqliteDatabase, options: TelemetryIngestOptions = {}): BatchingTelemetryRepository {
  const maxBatchRows = options.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_BATCH_DELAY_MS
  const insert = db.prepare<Row>(`
    INSERT OR IGNORE INTO telemetry_windows (device_id, report_seq, window_start_at, window_end_at, model_sha256,
      execution_provider, request_count, error_count, latency_counts_json, rss_bytes, received_at, bins_sha256,
      feature_counts_json, prediction_counts_json)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  // Only windows the rollups consumed may go: their counts live on in the rollups.
  const prune = db.prepare<[string]>(`
    DELETE FROM telemetry_windows WHERE received_at < ?
      AND rowid <= COALESCE((SELECT CAST(value AS INTEGER) FROM telemetry_state WHERE key = '${ROLLUP_WATERMARK_KEY}'), 0)`)
  const writeBatch = db.transaction((batch: readonly Pending[]) => batch.map((pending) => insert.run(...pending.row).changes === 1))

  let queue: Pending[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  let isClosed = false
  const stats: TelemetryIngestStats = { storedWindows: 0, duplicateWindows: 0, committedBatches: 0, failedBatches: 0, pendingWindows: 0 }

  function flushNow(): void {
    if (timer !== undefined) {
      clearTimeout(timer)
      timer = undefined
    }
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatchRows)
      queue = queue.slice(batch.length)
      let results: boolean[]
      try {
        results = writeBatch(batch)
      } catch (error) {
        stats.failedBatches += 1
        for (const pending of batch) pending.reject(error)
        continue
      }
      let newCount = 0
      results.forEach((isNew, index) => {
        if (isNew) newCount += 1
        batch[index]?.resolve(isNew)
      })
      stats.committedBatches += 1
      stats.storedWindows += newCount
      stats.duplicateWindows += batch.length - newCount
      if (newCount > 0) options.onCommitted?.(newCount)
    }
  }

  return {
    insert(window, receivedAt) {
      if (isClosed) return Promise.reject(new Error('The telemetry repository is closed'))
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ row: toRow(window, receivedAt), resolve, reject })
        if (queue.length >= maxBatchRows) flushNow()
        else timer ??= setTimeout(flushNow, maxDelayMs)
      })
    },
    async pruneReceivedBefore(receivedBefore) {
      return prune.run(receivedBefore).changes
    },
    async flush() {
      flushNow()
    },
    async close() {
      flushNow()
      isClosed = true
    },
    stats() {
      return { ...stats, pendingWindows: queue.length }
    },
  }
}

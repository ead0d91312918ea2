import type { TelemetryRepository } from '../../ports/TelemetryRepository.ts'
import type { SqliteDatabase } from './openDatabase.ts'

interface TelemetryRow {
  device_id: string
  report_seq: number
  window_start_at: string
  window_end_at: string
  model_sha256: string | null
  execution_provider: string | null
  request_count: number
  error_count: number
  latency_counts_json: string
  rss_bytes: number
  received_at: string
}

export function createSqliteTelemetryRepository(db: SqliteDatabase): TelemetryRepository {
  // QoS 1 delivers at least once: the primary key (device_id, report_seq) turns a redelivery into a no-op.
  const insert = db.prepare<TelemetryRow>(`
    INSERT OR IGNORE INTO telemetry_windows (device_id, report_seq, window_start_at, window_end_at, model_sha256,
      execution_provider, request_count, error_count, latency_counts_json, rss_bytes, received_at)
    VALUES (@device_id, @report_seq, @window_start_at, @window_end_at, @model_sha256, @execution_provider,
      @request_count, @error_count, @latency_counts_json, @rss_bytes, @received_at)`)
  const prune = db.prepare<[string]>('DELETE FROM telemetry_windows WHERE received_at < ?')

  return {
    async insert(window, receivedAt) {
      const result = insert.run({
        device_id: window.deviceId,
        report_seq: window.reportSeq,
        window_start_at: window.windowStartAt,
        window_end_at: window.windowEndAt,
        model_sha256: window.modelSha256,
        execution_provider: window.executionProvider,
        request_count: window.requestCount,
        error_count: window.errorCount,
        latency_counts_json: JSON.stringify(window.latencyCounts),
        rss_bytes: window.rssBytes,
        received_at: receivedAt,
      })
      return result.changes === 1
    },
    async pruneReceivedBefore(receivedBefore) {
      return prune.run(receivedBefore).changes
    },
  }
}

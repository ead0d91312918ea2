/** Small named values of the telemetry store (rollup watermark, drift settings) in `telemetry_state`. */
import type { SqliteDatabase } from './openDatabase.ts'

/** The highest telemetry_windows rowid the rollups have consumed. */
export const ROLLUP_WATERMARK_KEY = 'rollup.watermark'
export const DRIFT_SETTINGS_KEY = 'drift.settings'

export function readStateValue(db: SqliteDatabase, key: string): string | undefined {
  return db.prepare<[string], { value: string }>('SELECT value FROM telemetry_state WHERE key = ?').get(key)?.value
}

export function readWatermark(db: SqliteDatabase): number {
  const value = readStateValue(db, ROLLUP_WATERMARK_KEY)
  return value === undefined ? 0 : Number(value)
}

/** A fresh Outpost database in a temp directory for telemetry tests, with the telemetry store on it. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase, type SqliteDatabase } from '../openDatabase.ts'
import { createSqliteTelemetryStore, type SqliteTelemetryStore } from '../sqliteTelemetryStore.ts'

export interface TelemetryTestDatabase {
  db: SqliteDatabase
  store: SqliteTelemetryStore
  file: string
  close(): void
}

export function openTelemetryTestDatabase(nowIso: () => string = () => new Date(Date.UTC(2025, 0, 2)).toISOString()): TelemetryTestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-telemetry-'))
  const file = join(dir, 'outpost.db')
  const db = openDatabase(file)
  return {
    db,
    store: createSqliteTelemetryStore(db, { nowIso }),
    file,
    close() {
      db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface TestDevice {
  deviceId: string
  arch?: string
  executionProvider?: string
  isOnline?: boolean
  model?: { name: string; version: string; sha256: string } | null
  tags?: string[]
}

/** Devices rows with just what cohorts and the overview read. */
export function insertDevices(db: SqliteDatabase, devices: readonly TestDevice[]): void {
  const insert = db.prepare<[string, number, string, string | null, string | null, string]>(`
    INSERT INTO devices (device_id, is_online, hardware_json, execution_provider, active_model_json, tags_json) VALUES (?, ?, ?, ?, ?, ?)`)
  db.transaction(() => {
    for (const device of devices) {
      const hardware = { arch: device.arch ?? 'x64', platform: 'linux', osRelease: '6', hostname: device.deviceId, cpuModel: 'cpu', cpuCount: 2, memoryBytes: 1, accelerators: [] }
      const model = device.model === null || device.model === undefined ? null : { modelId: 'm-0123456789ab', ...device.model }
      insert.run(device.deviceId, device.isOnline === false ? 0 : 1, JSON.stringify(hardware), device.executionProvider ?? 'cpu', model && JSON.stringify(model), JSON.stringify(device.tags ?? []))
    }
  })()
}

/** Runs rollup passes until nothing is left above the watermark. */
export function rollUpEverything(store: SqliteTelemetryStore): number {
  let total = 0
  for (let pass = 0; pass < 10_000; pass++) {
    const result = store.rollups.runPass()
    total += result.windowCount
    if (!result.hasMore) break
  }
  return total
}

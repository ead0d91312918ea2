/**
 * Telemetry end to end through fleetService: encoded windows in, as the MQTT bus hands them over (all at once, each
 * device's in order), handled until idle: parse, batched telemetry insert, then the device row (lastSeenAt, latency
 * summary) coalesced per device and committed per batch. Baseline: raw better-sqlite3 inserts of the same telemetry
 * rows, 500 per transaction. A third figure runs the same service with every device write committed on its own (the
 * path before coalescing) to show what the batching buys. Every database is fresh, WAL, synchronous=FULL.
 */
import { join } from 'node:path'
import { createFsModelStore } from '../../src-main/adapters/fs/fsModelStore.ts'
import { openDatabase, type SqliteDatabase } from '../../src-main/adapters/sqlite/openDatabase.ts'
import { createSqliteDeviceRepository } from '../../src-main/adapters/sqlite/sqliteDeviceRepository.ts'
import { createSqliteDirectiveRepository } from '../../src-main/adapters/sqlite/sqliteDirectiveRepository.ts'
import { createSqliteModelRepository } from '../../src-main/adapters/sqlite/sqliteModelRepository.ts'
import { createSqliteTelemetryRepository } from '../../src-main/adapters/sqlite/sqliteTelemetryRepository.ts'
import type { DeviceRepository } from '../../src-main/ports/DeviceRepository.ts'
import type { MessageBus } from '../../src-main/ports/MessageBus.ts'
import { createFleetService } from '../../src-main/services/fleetService.ts'
import { BugError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { encodeMessage, type TelemetryWindow } from '../../src-shared/protocol/messages.ts'
import { topics } from '../../src-shared/protocol/topics.ts'
import { median, nowMs } from '../support/stats.ts'
import { withTempDir } from '../support/tempDir.ts'
import { type Benchmark, type BenchResult, ratioOf } from '../types.ts'
import { generateWindows } from './telemetryIngest.ts'

const RAW_BATCH_ROWS = 500

type DeviceWritePath = 'coalesced' | 'immediate'

/** Hands every message to the service at once and waits until all are handled and committed; returns elapsed ms. */
async function ingestThroughFleet(db: SqliteDatabase, dir: string, windows: readonly TelemetryWindow[], path: DeviceWritePath): Promise<number> {
  const sqliteDevices = createSqliteDeviceRepository(db)
  const devices: DeviceRepository = path === 'coalesced' ? sqliteDevices : { ...sqliteDevices, updateSoon: (deviceId, change) => sqliteDevices.update(deviceId, change) }
  const telemetry = createSqliteTelemetryRepository(db)
  const bus: MessageBus = { publish: async () => {}, subscribe: async () => {}, onMessage: () => () => {}, close: async () => {} }
  const fleet = createFleetService({
    devices, telemetry, bus, clock: { nowMs: () => Date.now() }, notifier: { deviceChanged: () => {}, modelChanged: () => {} }, log: silentLogger,
    models: createSqliteModelRepository(db), directives: createSqliteDirectiveRepository(db), store: createFsModelStore(join(dir, 'models')),
  })
  const messages = windows.map((window) => [topics.telemetry(window.deviceId), encodeMessage(window)] as const)
  const startedMs = nowMs()
  for (const [topic, payload] of messages) void fleet.handleMessage(topic, payload)
  await fleet.close()
  const elapsedMs = nowMs() - startedMs
  await telemetry.close()
  const dropped = Object.keys(fleet.droppedMessageCounts()).length
  if (dropped > 0) throw new BugError(`fleetService dropped messages: ${JSON.stringify(fleet.droppedMessageCounts())}`)
  return elapsedMs
}

function insertRaw(db: SqliteDatabase, windows: readonly TelemetryWindow[]): number {
  const statement = db.prepare(`INSERT OR IGNORE INTO telemetry_windows (device_id, report_seq, window_start_at, window_end_at,
    model_sha256, execution_provider, request_count, error_count, latency_counts_json, rss_bytes, received_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const insertBatch = db.transaction((batch: readonly TelemetryWindow[]) => {
    for (const w of batch) {
      statement.run(w.deviceId, w.reportSeq, w.windowStartAt, w.windowEndAt, w.modelSha256, w.executionProvider, w.requestCount,
        w.errorCount, JSON.stringify(w.latencyCounts), w.rssBytes, w.windowEndAt)
    }
  })
  const startedMs = nowMs()
  for (let start = 0; start < windows.length; start += RAW_BATCH_ROWS) insertBatch(windows.slice(start, start + RAW_BATCH_ROWS))
  return nowMs() - startedMs
}

/** Runs `ingest` on a fresh database and checks every window and device row arrived, so a no-op cannot look fast. */
async function timed(dir: string, label: string, windows: readonly TelemetryWindow[], expectDevices: boolean, ingest: (db: SqliteDatabase) => Promise<number> | number) {
  const db = openDatabase(join(dir, `${label}.db`))
  try {
    const elapsedMs = await ingest(db)
    const rows = db.prepare('SELECT count(*) FROM telemetry_windows').pluck().get()
    if (rows !== windows.length) throw new BugError(`${label}: stored ${String(rows)} windows, expected ${windows.length}`)
    if (expectDevices) {
      const deviceCount = new Set(windows.map((window) => window.deviceId)).size
      const withLatency = db.prepare('SELECT count(*) FROM devices WHERE latency_json IS NOT NULL').pluck().get()
      if (withLatency !== deviceCount) throw new BugError(`${label}: ${String(withLatency)} device rows with latency, expected ${deviceCount}`)
    }
    return elapsedMs
  } finally {
    db.close()
  }
}

export const benchmark: Benchmark = {
  name: 'fleet-telemetry-ingest',
  description: 'Telemetry windows end to end through fleetService (telemetry insert + device row) vs raw batched inserts',
  async run({ quick, log }) {
    const deviceCount = quick ? 300 : 2000
    const windowsPerDevice = quick ? 2 : 3
    const repetitions = quick ? 1 : 3
    const windows = generateWindows(deviceCount, windowsPerDevice)
    // The immediate path commits once per window; one window per device keeps it within the time budget.
    const immediateWindows = windows.slice(0, deviceCount)
    return withTempDir('fleet-ingest', async (dir) => {
      const rate = (rows: number, elapsedMs: number) => rows / (elapsedMs / 1000)
      const rawMs: number[] = []
      const fleetMs: number[] = []
      const immediateMs: number[] = []
      for (let i = 0; i < repetitions; i += 1) {
        rawMs.push(await timed(dir, `raw-${i}`, windows, false, (db) => insertRaw(db, windows)))
        fleetMs.push(await timed(dir, `fleet-${i}`, windows, true, (db) => ingestThroughFleet(db, dir, windows, 'coalesced')))
        immediateMs.push(await timed(dir, `immediate-${i}`, immediateWindows, true, (db) => ingestThroughFleet(db, dir, immediateWindows, 'immediate')))
      }
      const rawRate = rate(windows.length, median(rawMs))
      const fleetRate = rate(windows.length, median(fleetMs))
      const immediateRate = rate(immediateWindows.length, median(immediateMs))
      log(`fleetService: coalesced ${fleetRate.toFixed(0)} windows/s, per-window device commits ${immediateRate.toFixed(0)} windows/s, raw inserts ${rawRate.toFixed(0)} rows/s`)
      const counts = `${deviceCount} devices; median of ${repetitions} fresh database${repetitions === 1 ? '' : 's'} per path`
      const rawBaseline = { value: rawRate, unit: 'windows/s', title: `raw better-sqlite3 inserts of the same telemetry rows, ${RAW_BATCH_ROWS} per transaction (no device rows)` }
      const results: BenchResult[] = [
        {
          id: 'fleet-telemetry-ingest-rate',
          title: 'Telemetry windows handled end to end by fleetService (telemetry row + coalesced device row)',
          value: fleetRate,
          unit: 'windows/s',
          baseline: rawBaseline,
          ratio: ratioOf(fleetRate, rawRate),
          notes: `${windows.length} encoded windows (${counts}), all handed over at once; until every telemetry batch and device batch committed.`,
        },
        {
          id: 'fleet-telemetry-ingest-rate-immediate',
          title: 'Same with one device-row commit per window, the path before coalescing (informational)',
          value: immediateRate,
          unit: 'windows/s',
          baseline: rawBaseline,
          ratio: ratioOf(immediateRate, rawRate),
          notes: `${immediateWindows.length} windows, one per device (${counts}).`,
        },
      ]
      return results
    })
  },
}

/**
 * Telemetry ingest (issue 7 target: >= 0.5x raw). The real SQLite telemetry repository, called once per window as
 * fleetService does, against raw better-sqlite3 inserts of the same rows in one transaction per batch. Both write to
 * a fresh database made by openDatabase (same schema, WAL, synchronous=FULL), so only the write path differs.
 */
import { join } from 'node:path'
import { openDatabase, type SqliteDatabase } from '../../src-main/adapters/sqlite/openDatabase.ts'
import { createSqliteTelemetryRepository } from '../../src-main/adapters/sqlite/sqliteTelemetryRepository.ts'
import { BugError } from '../../src-shared/errors.ts'
import { emptyLatencyCounts } from '../../src-shared/protocol/latencyHistogram.ts'
import type { TelemetryWindow } from '../../src-shared/protocol/messages.ts'
import { median, nowMs } from '../support/stats.ts'
import { withTempDir } from '../support/tempDir.ts'
import { type Benchmark, type BenchResult, ratioOf } from '../types.ts'

const RAW_BATCH_ROWS = 500
const WINDOW_MS = 60_000
const T0_MS = Date.UTC(2025, 0, 1)

/** Deterministic windows: `deviceCount` devices x `windowsPerDevice` consecutive windows, varied histograms. */
export function generateWindows(deviceCount: number, windowsPerDevice: number): TelemetryWindow[] {
  let seed = 12345
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const windows: TelemetryWindow[] = []
  for (let w = 0; w < windowsPerDevice; w += 1) {
    for (let d = 0; d < deviceCount; d += 1) {
      const latencyCounts = emptyLatencyCounts()
      const requestCount = 50 + Math.floor(next() * 500)
      for (let i = 0; i < requestCount; i += 1) {
        const bucket = 20 + Math.floor(next() * 16)
        latencyCounts[bucket] = (latencyCounts[bucket] ?? 0) + 1
      }
      windows.push({
        v: 1,
        deviceId: `bench-${d + 1}`,
        reportSeq: w + 1,
        windowStartAt: new Date(T0_MS + w * WINDOW_MS).toISOString(),
        windowEndAt: new Date(T0_MS + (w + 1) * WINDOW_MS).toISOString(),
        modelSha256: 'ab'.repeat(32),
        executionProvider: 'cpu',
        requestCount,
        errorCount: Math.floor(next() * 3),
        latencyCounts,
        rssBytes: 80_000_000 + Math.floor(next() * 1_000_000),
      })
    }
  }
  return windows
}

const receivedAt = (window: TelemetryWindow) => window.windowEndAt

/**
 * The way fleetService ingests: one awaited repository call (one synced commit) per window. Stops early once
 * `budgetMs` has passed, since a commit costs an fsync and disks differ by 10x; returns how many windows it stored.
 */
async function insertThroughRepository(db: SqliteDatabase, windows: readonly TelemetryWindow[], budgetMs: number): Promise<{ count: number; elapsedMs: number }> {
  const repository = createSqliteTelemetryRepository(db)
  const startedMs = nowMs()
  let count = 0
  for (const window of windows) {
    await repository.insert(window, receivedAt(window))
    count += 1
    if (nowMs() - startedMs > budgetMs) break
  }
  return { count, elapsedMs: nowMs() - startedMs }
}

/**
 * The repository's statement inside a caller's transaction per batch. The port is async, but better-sqlite3 runs
 * the statement synchronously when insert() is called, so the calls land inside the transaction. Shows what the
 * repository itself costs once commits are batched.
 */
async function insertThroughRepositoryBatched(db: SqliteDatabase, windows: readonly TelemetryWindow[]): Promise<number> {
  const repository = createSqliteTelemetryRepository(db)
  const startedMs = nowMs()
  for (let start = 0; start < windows.length; start += RAW_BATCH_ROWS) {
    const batch = windows.slice(start, start + RAW_BATCH_ROWS)
    const inserted = db.transaction(() => batch.map((window) => repository.insert(window, receivedAt(window))))()
    await Promise.all(inserted)
  }
  return nowMs() - startedMs
}

/** Baseline: a positional prepared statement, one transaction per RAW_BATCH_ROWS rows. */
function insertRaw(db: SqliteDatabase, windows: readonly TelemetryWindow[]): number {
  const statement = db.prepare(`INSERT OR IGNORE INTO telemetry_windows (device_id, report_seq, window_start_at, window_end_at,
    model_sha256, execution_provider, request_count, error_count, latency_counts_json, rss_bytes, received_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const insertBatch = db.transaction((batch: readonly TelemetryWindow[]) => {
    for (const w of batch) {
      statement.run(w.deviceId, w.reportSeq, w.windowStartAt, w.windowEndAt, w.modelSha256, w.executionProvider, w.requestCount,
        w.errorCount, JSON.stringify(w.latencyCounts), w.rssBytes, receivedAt(w))
    }
  })
  const startedMs = nowMs()
  for (let start = 0; start < windows.length; start += RAW_BATCH_ROWS) insertBatch(windows.slice(start, start + RAW_BATCH_ROWS))
  return nowMs() - startedMs
}

function countRows(db: SqliteDatabase): number {
  return db.prepare<[], { count: number }>('SELECT count(*) AS count FROM telemetry_windows').get()?.count ?? 0
}

/** Runs `insert` on a fresh database and checks every row arrived, so a silent no-op cannot look fast. */
async function timedOnFreshDatabase(dir: string, label: string, insert: (db: SqliteDatabase) => Promise<{ count: number; elapsedMs: number }>) {
  const db = openDatabase(join(dir, `${label}.db`))
  try {
    const { count, elapsedMs } = await insert(db)
    const rows = countRows(db)
    if (rows !== count || count === 0) throw new BugError(`${label}: stored ${rows} windows, expected ${count}`)
    return elapsedMs
  } finally {
    db.close()
  }
}

export const benchmark: Benchmark = {
  name: 'telemetry-ingest',
  description: 'TelemetryWindow rows through the SQLite telemetry repository vs raw batched better-sqlite3 inserts',
  async run({ quick, log }) {
    const deviceCount = quick ? 10 : 200
    const windowsPerDevice = quick ? 10 : 20
    const repetitions = quick ? 1 : 5
    const repositoryBudgetMs = quick ? 2_000 : 20_000
    const allWindows = generateWindows(deviceCount, windowsPerDevice)
    return withTempDir('ingest', async (dir) => {
      let storedCount = 0
      const repositoryMs = await timedOnFreshDatabase(dir, 'repository', (db) =>
        insertThroughRepository(db, allWindows, repositoryBudgetMs).then(({ count, elapsedMs }) => {
          storedCount = count
          return { count, elapsedMs }
        }),
      )
      // Every other path inserts exactly the windows the repository got through.
      const windows = allWindows.slice(0, storedCount)
      log(`repository, one commit per window: ${windows.length} rows in ${repositoryMs.toFixed(0)} ms`)
      const rawMs: number[] = []
      const batchedMs: number[] = []
      for (let i = 0; i < repetitions; i += 1) {
        const all = (elapsedMs: number) => ({ count: windows.length, elapsedMs })
        rawMs.push(await timedOnFreshDatabase(dir, `raw-${i}`, async (db) => all(insertRaw(db, windows))))
        batchedMs.push(await timedOnFreshDatabase(dir, `batched-${i}`, async (db) => all(await insertThroughRepositoryBatched(db, windows))))
      }
      const rate = (elapsedMs: number) => windows.length / (elapsedMs / 1000)
      const rawRate = rate(median(rawMs))
      const repositoryRate = rate(repositoryMs)
      const batchedRate = rate(median(batchedMs))
      const baseline = { value: rawRate, unit: 'rows/s', title: `raw better-sqlite3, ${RAW_BATCH_ROWS} rows per transaction` }
      const counts = `${windows.length} of ${allWindows.length} generated windows (${deviceCount} devices x ${windowsPerDevice}; the repository path stops early after ${repositoryBudgetMs / 1000} s); raw and batched: median of ${repetitions} fresh database${repetitions === 1 ? '' : 's'}`
      const results: BenchResult[] = [
        {
          id: 'telemetry-ingest-rate',
          title: 'Telemetry ingest through the repository (one call per window, as fleetService does)',
          value: repositoryRate,
          unit: 'rows/s',
          baseline,
          ratio: ratioOf(repositoryRate, rawRate),
          target: { comparison: '>=', ratio: 0.5 },
          notes: `${counts}. Each repository insert is its own synchronous=FULL commit (one fsync per window).`,
        },
        {
          id: 'telemetry-ingest-rate-batched',
          title: 'Same repository statement inside a caller transaction per batch (informational)',
          value: batchedRate,
          unit: 'rows/s',
          baseline,
          ratio: ratioOf(batchedRate, rawRate),
          notes: `${counts}. Not how fleetService calls it today: shows the cost left once commits are batched.`,
        },
      ]
      return results
    })
  },
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSqliteTelemetryRepository } from './sqliteTelemetryRepository.ts'
import { makeReference, makeWindow, seededRandom } from './testing/driftFixtures.ts'
import { openTelemetryTestDatabase, type TelemetryTestDatabase } from './testing/telemetryTestDatabase.ts'

const reference = makeReference(3, 6)
const T0 = Date.UTC(2025, 0, 1)
const window = (deviceId: string, reportSeq: number, startMs = T0 + reportSeq * 10_000) =>
  makeWindow(reference, { deviceId, reportSeq, startMs, samples: 10 }, seededRandom(reportSeq))

/** Resolves with 'timeout' instead of hanging when a promise never settles. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms))])
}

let context: TelemetryTestDatabase
beforeEach(() => {
  context = openTelemetryTestDatabase()
})
afterEach(() => context.close())

const rowCount = () => context.db.prepare<[], { count: number }>('SELECT count(*) AS count FROM telemetry_windows').get()?.count

describe('batching telemetry repository', () => {
  it('resolves each insert after its batch committed, with whether the window was new', async () => {
    const repository = createSqliteTelemetryRepository(context.db, { maxDelayMs: 20 })
    const results = await Promise.all([
      repository.insert(window('d-1', 1), '2025-01-01T00:00:20.000Z'),
      repository.insert(window('d-1', 1), '2025-01-01T00:00:20.000Z'),
      repository.insert(window('d-1', 2), '2025-01-01T00:00:30.000Z'),
    ])
    expect(results).toEqual([true, false, true])
    expect(rowCount()).toBe(2)
    expect(await repository.insert(window('d-1', 2), '2025-01-01T00:00:40.000Z')).toBe(false)
    expect(repository.stats()).toMatchObject({ storedWindows: 2, duplicateWindows: 2, committedBatches: 2, pendingWindows: 0 })
  })

  it('commits as soon as a batch is full, without waiting for the delay', async () => {
    const repository = createSqliteTelemetryRepository(context.db, { maxBatchRows: 3, maxDelayMs: 60_000 })
    const batch = Promise.all([1, 2, 3].map((seq) => repository.insert(window('d-1', seq), '2025-01-01T00:01:00.000Z')))
    expect(await within(batch, 2000)).toEqual([true, true, true])
    const waiting = repository.insert(window('d-1', 4), '2025-01-01T00:01:00.000Z')
    expect(await within(waiting, 50)).toBe('timeout')
    await repository.close()
    expect(await waiting).toBe(true)
    await expect(repository.insert(window('d-1', 5), '2025-01-01T00:01:00.000Z')).rejects.toThrow(/closed/)
  })

  it('stores late and out-of-order windows like any other, and the drift fields with them', async () => {
    const repository = createSqliteTelemetryRepository(context.db, { maxDelayMs: 5 })
    const late = window('d-2', 3, T0 - 3 * 86_400_000)
    expect(await repository.insert(window('d-2', 5), '2025-01-01T00:00:00.000Z')).toBe(true)
    expect(await repository.insert(late, '2025-01-01T00:00:01.000Z')).toBe(true)
    expect(await repository.insert(window('d-2', 4), '2025-01-01T00:00:02.000Z')).toBe(true)
    const stored = context.db
      .prepare<[], { report_seq: number; feature_counts_json: string; bins_sha256: string }>(
        "SELECT report_seq, feature_counts_json, bins_sha256 FROM telemetry_windows WHERE device_id = 'd-2' ORDER BY rowid",
      )
      .all()
    expect(stored.map((row) => row.report_seq)).toEqual([5, 3, 4])
    expect(JSON.parse(stored[1]?.feature_counts_json ?? 'null')).toEqual(late.featureCounts)
    expect(stored[1]?.bins_sha256).toBe(late.binsSha256)
  })

  it('prunes only windows the rollups have consumed', async () => {
    const repository = createSqliteTelemetryRepository(context.db, { maxDelayMs: 5 })
    await Promise.all([1, 2, 3].map((seq) => repository.insert(window('d-3', seq), '2025-01-01T00:00:00.000Z')))
    expect(await repository.pruneReceivedBefore('2025-02-01T00:00:00.000Z')).toBe(0)
    context.store.rollups.runPass(2)
    expect(await repository.pruneReceivedBefore('2025-02-01T00:00:00.000Z')).toBe(2)
    expect(rowCount()).toBe(1)
  })
})

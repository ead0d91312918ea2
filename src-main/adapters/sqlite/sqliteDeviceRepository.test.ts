import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { newDeviceRecord, type DeviceRecord } from '../../core/fleet/deviceRecord.ts'
import { openDatabase, type SqliteDatabase } from './openDatabase.ts'
import { createSqliteDeviceRepository } from './sqliteDeviceRepository.ts'

let dir: string
let db: SqliteDatabase

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-devices-'))
  db = openDatabase(join(dir, 'outpost.db'))
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const seenAt = (at: string) => (record: DeviceRecord | undefined) => ({ ...(record ?? newDeviceRecord('d-1')), lastSeenAt: at })
const committedLastSeen = (deviceId: string) =>
  db.prepare<[string], string | null>('SELECT last_seen_at FROM devices WHERE device_id = ?').pluck().get(deviceId)

describe('SqliteDeviceRepository.updateSoon', () => {
  it('applies the changes of one device in order, shares one promise per batch and writes the row once', async () => {
    const devices = createSqliteDeviceRepository(db, { maxDelayMs: 60_000 })
    const first = devices.updateSoon('d-1', seenAt('2025-01-01T00:00:01.000Z'))
    const second = devices.updateSoon('d-1', (record) => record && { ...record, agentVersion: `after ${record.lastSeenAt}` })
    const unchanged = devices.updateSoon('d-1', () => undefined)
    expect(second).toBe(first)
    expect(unchanged).toBe(first)
    expect(committedLastSeen('d-1')).toBeUndefined()

    await devices.flush()

    expect(await first).toMatchObject({ lastSeenAt: '2025-01-01T00:00:01.000Z', agentVersion: 'after 2025-01-01T00:00:01.000Z' })
    expect(devices.stats()).toMatchObject({ committedBatches: 1, writtenRows: 1, coalescedChanges: 3, pendingDevices: 0 })
    expect(devices.updateSoon('d-1', seenAt('2025-01-01T00:00:02.000Z'))).not.toBe(first)
  })

  it('commits on its own after the delay, and at once when the batch is full', async () => {
    const devices = createSqliteDeviceRepository(db, { maxDelayMs: 5, maxBatchChanges: 3 })
    const timed = devices.updateSoon('d-1', seenAt('2025-01-01T00:00:01.000Z'))
    expect(await timed).toMatchObject({ lastSeenAt: '2025-01-01T00:00:01.000Z' })

    void devices.updateSoon('d-a', seenAt('2025-01-01T00:00:02.000Z'))
    void devices.updateSoon('d-b', seenAt('2025-01-01T00:00:02.000Z'))
    expect(committedLastSeen('d-a')).toBeUndefined()
    void devices.updateSoon('d-c', seenAt('2025-01-01T00:00:02.000Z'))
    expect(committedLastSeen('d-a')).toBe('2025-01-01T00:00:02.000Z')
    expect(devices.stats()).toMatchObject({ committedBatches: 2, pendingDevices: 0 })
  })

  it('lets update() write the queued changes first and resolves the batch promise undefined, its result covering them', async () => {
    const devices = createSqliteDeviceRepository(db, { maxDelayMs: 60_000 })
    const queued = devices.updateSoon('d-1', seenAt('2025-01-01T00:00:01.000Z'))
    const stored = await devices.update('d-1', (record) => record && { ...record, isOnline: false })
    expect(stored).toMatchObject({ lastSeenAt: '2025-01-01T00:00:01.000Z', isOnline: false })
    expect(await queued).toBeUndefined()

    const queuedAgain = devices.updateSoon('d-1', seenAt('2025-01-01T00:00:02.000Z'))
    expect(await devices.update('d-1', () => undefined)).toBeUndefined()
    expect(await queuedAgain).toMatchObject({ lastSeenAt: '2025-01-01T00:00:02.000Z' })
    expect(devices.stats().committedBatches).toBe(0)
  })

  it('shows queued changes to reads and commits them before marking every device offline', async () => {
    const devices = createSqliteDeviceRepository(db, { maxDelayMs: 60_000 })
    void devices.updateSoon('d-1', (record) => ({ ...seenAt('2025-01-01T00:00:01.000Z')(record), isOnline: true }))
    expect((await devices.get('d-1'))?.lastSeenAt).toBe('2025-01-01T00:00:01.000Z')
    void devices.updateSoon('d-1', (record) => record && { ...record, isOnline: true, agentVersion: '2.0.0' })
    expect((await devices.list()).map((device) => device.agentVersion)).toEqual(['2.0.0'])
    void devices.updateSoon('d-1', (record) => record && { ...record, isOnline: true })
    await devices.markAllOffline()
    expect((await devices.get('d-1'))?.isOnline).toBe(false)
  })

  it('rejects every caller of a batch that failed to commit, and stays usable', async () => {
    const devices = createSqliteDeviceRepository(db, { maxDelayMs: 60_000 })
    const failing = devices.updateSoon('d-1', () => {
      throw new Error('change failed')
    })
    const other = devices.updateSoon('d-2', seenAt('2025-01-01T00:00:01.000Z'))
    await devices.flush()
    await expect(failing).rejects.toThrow('change failed')
    await expect(other).rejects.toThrow('change failed')
    expect(devices.stats()).toMatchObject({ failedBatches: 1, pendingDevices: 0 })
    expect(committedLastSeen('d-2')).toBeUndefined()

    const retried = devices.updateSoon('d-2', seenAt('2025-01-01T00:00:03.000Z'))
    await devices.flush()
    expect(await retried).toMatchObject({ lastSeenAt: '2025-01-01T00:00:03.000Z' })
  })
})

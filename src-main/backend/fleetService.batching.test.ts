import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { encodeMessage } from '../../src-shared/protocol/messages.ts'
import { topics } from '../../src-shared/protocol/topics.ts'
import { createManualClock } from '../adapters/clock/systemClock.ts'
import { createFsModelStore } from '../adapters/fs/fsModelStore.ts'
import { openDatabase, type SqliteDatabase } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteDeviceRepository } from '../adapters/sqlite/sqliteDeviceRepository.ts'
import { createSqliteDirectiveRepository } from '../adapters/sqlite/sqliteDirectiveRepository.ts'
import { createSqliteModelRepository } from '../adapters/sqlite/sqliteModelRepository.ts'
import { createSqliteTelemetryRepository } from '../adapters/sqlite/sqliteTelemetryRepository.ts'
import type { MessageBus } from '../ports/MessageBus.ts'
import { createFleetService } from '../services/fleetService.ts'
import { aHeartbeat, aStatus, aTelemetryWindow, anInstallReport, anInstant } from '../services/testing/deviceMessages.ts'

const START_MS = Date.UTC(2025, 0, 1)
const isoAt = (offsetMs: number) => new Date(START_MS + offsetMs).toISOString()

let dir: string
let db: SqliteDatabase
let setup: ReturnType<typeof build>

/** The fleet service over a real SQLite file; device batches commit only when flushed, so each test decides when. */
function build() {
  const clock = createManualClock(START_MS)
  const changed: DeviceSummary[] = []
  const notifier = { deviceChanged: (device: DeviceSummary) => changed.push(device), modelChanged: () => {} }
  const bus: MessageBus = { publish: async () => {}, subscribe: async () => {}, onMessage: () => () => {}, close: async () => {} }
  const devices = createSqliteDeviceRepository(db, { maxDelayMs: 60_000, maxBatchChanges: 10_000 })
  const telemetry = createSqliteTelemetryRepository(db, { maxDelayMs: 1 })
  const fleet = createFleetService({
    devices, telemetry, bus, clock, notifier, log: silentLogger,
    models: createSqliteModelRepository(db), directives: createSqliteDirectiveRepository(db), store: createFsModelStore(join(dir, 'models')),
  })
  const send = (topic: string, message: unknown) => fleet.handleMessage(topic, encodeMessage(message))
  /** The row as committed, bypassing the repository (which would flush first). */
  const storedRow = (deviceId: string) =>
    db.prepare<[string], { last_seen_at: string | null; is_online: number; latency_json: string | null; install_state: string }>(
      'SELECT last_seen_at, is_online, latency_json, install_state FROM devices WHERE device_id = ?',
    ).get(deviceId)
  return { clock, changed, devices, telemetry, fleet, send, storedRow }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-fleet-batch-'))
  db = openDatabase(join(dir, 'outpost.db'))
  setup = build()
})
afterEach(async () => {
  await setup.fleet.close()
  await setup.telemetry.close()
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('FleetService device batching', () => {
  it('coalesces heartbeats and telemetry per device into one batch and one event per device with the latest state', async () => {
    for (let index = 0; index < 5; index += 1) {
      setup.clock.advanceMs(1000)
      await setup.send(topics.telemetry('d-1'), aTelemetryWindow('d-1', { reportSeq: index + 1, requestCount: 10 * (index + 1), windowEndAt: anInstant(10 + index) }))
      await setup.send(topics.heartbeat('d-1'), aHeartbeat('d-1'))
      await setup.send(topics.heartbeat('d-2'), aHeartbeat('d-2'))
    }
    // Everything was handled, nothing committed yet: the device rows wait for the batch.
    expect(setup.storedRow('d-1')).toBeUndefined()
    expect(setup.changed).toEqual([])
    expect(setup.devices.stats()).toMatchObject({ pendingDevices: 2, committedBatches: 0 })

    await setup.fleet.idle()

    expect(setup.devices.stats()).toMatchObject({ pendingDevices: 0, committedBatches: 1, writtenRows: 2, coalescedChanges: 15 })
    expect(setup.storedRow('d-1')).toMatchObject({ last_seen_at: isoAt(5000), is_online: 1 })
    expect(JSON.parse(setup.storedRow('d-1')?.latency_json ?? 'null')).toMatchObject({ requestCount: 50, windowEndAt: anInstant(14) })
    expect(setup.changed.map((device) => device.deviceId).sort()).toEqual(['d-1', 'd-2'])
    expect(setup.changed.find((device) => device.deviceId === 'd-1')).toMatchObject({ lastSeenAt: isoAt(5000), latency: { requestCount: 50 } })
    expect(db.prepare('SELECT count(*) FROM telemetry_windows').pluck().get()).toBe(5)
  })

  it('writes pending coalesced changes before an immediate change of the same device, in order', async () => {
    setup.clock.advanceMs(1000)
    await setup.send(topics.telemetry('d-1'), aTelemetryWindow('d-1', { requestCount: 70 }))
    await setup.send(topics.heartbeat('d-1'), aHeartbeat('d-1'))
    setup.clock.advanceMs(1000)
    // Offline after the heartbeat: had the queued heartbeat been written after it, the device would read online again.
    await setup.send(topics.status('d-1'), aStatus('d-1', { isOnline: false, at: anInstant(2) }))

    expect(setup.storedRow('d-1')).toMatchObject({ is_online: 0, last_seen_at: isoAt(1000) })
    expect(JSON.parse(setup.storedRow('d-1')?.latency_json ?? 'null')).toMatchObject({ requestCount: 70 })
    expect(setup.devices.stats().pendingDevices).toBe(0)

    setup.clock.advanceMs(1000)
    await setup.send(topics.report('d-1'), anInstallReport('d-1', { state: 'downloading', progress: 0.5 }))
    await setup.send(topics.heartbeat('d-1'), aHeartbeat('d-1', { installState: 'downloading' }))
    await setup.fleet.idle()

    expect(setup.storedRow('d-1')).toMatchObject({ is_online: 1, install_state: 'downloading', last_seen_at: isoAt(3000) })
    // One event per write, each with the state as stored: the absorbed batch adds no event of its own.
    expect(setup.changed.map((device) => [device.isOnline, device.latency?.requestCount, device.install.state, device.lastSeenAt])).toEqual([
      [false, 70, 'idle', isoAt(1000)],
      [true, 70, 'downloading', isoAt(3000)],
      [true, 70, 'downloading', isoAt(3000)],
    ])
  })

  it('commits queued changes on close, so a fresh connection sees them', async () => {
    setup.clock.advanceMs(4000)
    await setup.send(topics.heartbeat('d-3'), aHeartbeat('d-3'))
    expect(setup.storedRow('d-3')).toBeUndefined()

    await setup.fleet.close()

    const other = openDatabase(join(dir, 'outpost.db'))
    try {
      expect((await createSqliteDeviceRepository(other).get('d-3'))?.lastSeenAt).toBe(isoAt(4000))
    } finally {
      other.close()
    }
    expect(setup.changed.map((device) => device.deviceId)).toEqual(['d-3'])
  })

  it('starts a new batch, and a new event, for changes that arrive after a flush', async () => {
    await setup.send(topics.heartbeat('d-1'), aHeartbeat('d-1'))
    await setup.fleet.idle()
    setup.clock.advanceMs(1000)
    await setup.send(topics.heartbeat('d-1'), aHeartbeat('d-1'))
    await setup.fleet.idle()

    expect(setup.devices.stats()).toMatchObject({ committedBatches: 2, writtenRows: 2 })
    expect(setup.changed.map((device) => device.lastSeenAt)).toEqual([isoAt(0), isoAt(1000)])
  })
})

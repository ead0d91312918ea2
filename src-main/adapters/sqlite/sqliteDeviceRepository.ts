import type { ActiveModel, ExecutionProviderProbe, Hardware, InstallState, LatencySummary } from '../../../src-shared/domain/device.ts'
import type { DeviceRecord } from '../../core/fleet/deviceRecord.ts'
import type { DeviceChange, DeviceRepository } from '../../ports/DeviceRepository.ts'
import type { SqliteDatabase } from './openDatabase.ts'

interface DeviceRow {
  device_id: string
  password_hash: string | null
  enrolled_at: string | null
  is_online: number
  status_at: string | null
  first_seen_at: string | null
  last_seen_at: string | null
  agent_version: string | null
  hardware_json: string | null
  execution_providers_json: string
  execution_provider: string | null
  active_model_json: string | null
  reported_directive_seq: number
  install_state: string
  install_progress: number
  install_error_code: string | null
  install_message: string | null
  latency_json: string | null
  desired_model_id: string | null
}

export const DEFAULT_MAX_DEVICE_BATCH_CHANGES = 500
export const DEFAULT_MAX_DEVICE_BATCH_DELAY_MS = 200

export interface DeviceBatchOptions {
  /** Commit once this many updateSoon() changes are queued (over all devices). */
  maxBatchChanges?: number
  /** Commit at most this long after the first queued updateSoon() change. */
  maxDelayMs?: number
}

export interface DeviceBatchStats {
  committedBatches: number
  failedBatches: number
  /** Device rows written by batches (one per device per batch, however many changes it coalesced). */
  writtenRows: number
  coalescedChanges: number
  pendingDevices: number
}

export interface BatchingDeviceRepository extends DeviceRepository {
  stats(): DeviceBatchStats
}

/** The updateSoon() changes of one device waiting for the next batch, and the promise all their callers share. */
interface PendingDevice {
  changes: DeviceChange[]
  promise: Promise<DeviceRecord | undefined>
  resolve: (record: DeviceRecord | undefined) => void
  reject: (error: unknown) => void
}

// desiredModelId is not stored on the device: it is the model of the newest install directive, one source of truth.
const selectColumns = `
  SELECT d.*, (SELECT model_id FROM directives r WHERE r.device_id = d.device_id AND r.action = 'install'
               ORDER BY r.seq DESC LIMIT 1) AS desired_model_id
  FROM devices d`

/**
 * DeviceRepository over better-sqlite3. JSON columns hold values that were validated by zod before they were stored.
 * updateSoon() exists because every commit is synced (synchronous = FULL): one commit per telemetry window or
 * heartbeat capped ingest at a few hundred messages per second, while a batch costs about one commit.
 */
export function createSqliteDeviceRepository(db: SqliteDatabase, options: DeviceBatchOptions = {}): BatchingDeviceRepository {
  const maxBatchChanges = options.maxBatchChanges ?? DEFAULT_MAX_DEVICE_BATCH_CHANGES
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DEVICE_BATCH_DELAY_MS
  const selectAll = db.prepare<[], DeviceRow>(`${selectColumns} ORDER BY d.device_id`)
  const selectOne = db.prepare<[string], DeviceRow>(`${selectColumns} WHERE d.device_id = ?`)
  const upsert = db.prepare<Omit<DeviceRow, 'desired_model_id'>>(`
    INSERT INTO devices (device_id, password_hash, enrolled_at, is_online, status_at, first_seen_at, last_seen_at,
      agent_version, hardware_json, execution_providers_json, execution_provider, active_model_json,
      reported_directive_seq, install_state, install_progress, install_error_code, install_message, latency_json)
    VALUES (@device_id, @password_hash, @enrolled_at, @is_online, @status_at, @first_seen_at, @last_seen_at,
      @agent_version, @hardware_json, @execution_providers_json, @execution_provider, @active_model_json,
      @reported_directive_seq, @install_state, @install_progress, @install_error_code, @install_message, @latency_json)
    ON CONFLICT (device_id) DO UPDATE SET password_hash = excluded.password_hash, enrolled_at = excluded.enrolled_at,
      is_online = excluded.is_online, status_at = excluded.status_at, first_seen_at = excluded.first_seen_at,
      last_seen_at = excluded.last_seen_at, agent_version = excluded.agent_version, hardware_json = excluded.hardware_json,
      execution_providers_json = excluded.execution_providers_json, execution_provider = excluded.execution_provider,
      active_model_json = excluded.active_model_json, reported_directive_seq = excluded.reported_directive_seq,
      install_state = excluded.install_state, install_progress = excluded.install_progress,
      install_error_code = excluded.install_error_code, install_message = excluded.install_message,
      latency_json = excluded.latency_json`)
  const setAllOffline = db.prepare('UPDATE devices SET is_online = 0 WHERE is_online <> 0')

  const readOne = (deviceId: string) => {
    const row = selectOne.get(deviceId)
    return row && fromRow(row)
  }
  /** Applies changes in order; a change returning undefined leaves the record as it was. */
  const applyAll = (record: DeviceRecord | undefined, changes: readonly DeviceChange[]) => {
    let current = record
    let isChanged = false
    for (const change of changes) {
      const next = change(current)
      if (next === undefined) continue
      current = next
      isChanged = true
    }
    return isChanged ? current : undefined
  }
  const write = (deviceId: string, next: DeviceRecord | undefined) => {
    if (next === undefined) return undefined
    upsert.run(toRow({ ...next, deviceId }))
    return readOne(deviceId)
  }
  // The device's queued changes go first, in the same transaction, so the immediate change sees them.
  const updateNow = db.transaction((deviceId: string, queued: readonly DeviceChange[], change: DeviceChange) => {
    const current = readOne(deviceId)
    const afterQueued = write(deviceId, applyAll(current, queued))
    return { afterQueued, stored: write(deviceId, change(afterQueued ?? current)) }
  })
  const writeBatch = db.transaction((batch: ReadonlyArray<readonly [string, PendingDevice]>) =>
    batch.map(([deviceId, entry]) => write(deviceId, applyAll(readOne(deviceId), entry.changes))),
  )

  let pending = new Map<string, PendingDevice>()
  let pendingChangeCount = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const stats = { committedBatches: 0, failedBatches: 0, writtenRows: 0, coalescedChanges: 0 }

  function take(deviceId: string): PendingDevice | undefined {
    const entry = pending.get(deviceId)
    if (entry) {
      pending.delete(deviceId)
      pendingChangeCount -= entry.changes.length
    }
    return entry
  }

  function flushNow(): void {
    if (timer !== undefined) {
      clearTimeout(timer)
      timer = undefined
    }
    if (pending.size === 0) return
    const batch = [...pending]
    pending = new Map()
    pendingChangeCount = 0
    let results: Array<DeviceRecord | undefined>
    try {
      results = writeBatch(batch)
    } catch (error) {
      stats.failedBatches += 1
      for (const [, entry] of batch) entry.reject(error)
      return
    }
    stats.committedBatches += 1
    batch.forEach(([, entry], index) => {
      const stored = results[index]
      if (stored) stats.writtenRows += 1
      stats.coalescedChanges += entry.changes.length
      entry.resolve(stored)
    })
  }

  return {
    async list() {
      flushNow()
      return selectAll.all().map(fromRow)
    },
    async get(deviceId) {
      if (pending.has(deviceId)) flushNow()
      return readOne(deviceId)
    },
    async update(deviceId, change) {
      const entry = take(deviceId)
      let result: { afterQueued: DeviceRecord | undefined; stored: DeviceRecord | undefined }
      try {
        result = updateNow(deviceId, entry?.changes ?? [], change)
      } catch (error) {
        entry?.reject(error)
        throw error
      }
      // The caller reports the stored record, which contains the queued changes; report them apart only when the
      // immediate change stored nothing.
      entry?.resolve(result.stored === undefined ? result.afterQueued : undefined)
      return result.stored
    },
    updateSoon(deviceId, change) {
      let entry = pending.get(deviceId)
      if (!entry) {
        let resolve: PendingDevice['resolve'] = () => {}
        let reject: PendingDevice['reject'] = () => {}
        const promise = new Promise<DeviceRecord | undefined>((resolvePromise, rejectPromise) => {
          resolve = resolvePromise
          reject = rejectPromise
        })
        // A caller that ignores the outcome must not turn a failed batch into an unhandled rejection.
        promise.catch(() => {})
        entry = { changes: [], promise, resolve, reject }
        pending.set(deviceId, entry)
      }
      entry.changes.push(change)
      pendingChangeCount += 1
      if (pendingChangeCount >= maxBatchChanges) flushNow()
      else timer ??= setTimeout(flushNow, maxDelayMs)
      return entry.promise
    },
    async flush() {
      flushNow()
    },
    async markAllOffline() {
      flushNow()
      setAllOffline.run()
    },
    stats() {
      return { ...stats, pendingDevices: pending.size }
    },
  }
}

const parseJson = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T))

function fromRow(row: DeviceRow): DeviceRecord {
  return {
    deviceId: row.device_id,
    isOnline: row.is_online !== 0,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    agentVersion: row.agent_version,
    hardware: parseJson<Hardware>(row.hardware_json),
    executionProviders: parseJson<ExecutionProviderProbe[]>(row.execution_providers_json) ?? [],
    executionProvider: row.execution_provider,
    activeModel: parseJson<ActiveModel>(row.active_model_json),
    desiredModelId: row.desired_model_id,
    install: {
      state: row.install_state as InstallState,
      progress: row.install_progress,
      errorCode: row.install_error_code,
      message: row.install_message,
    },
    latency: parseJson<LatencySummary>(row.latency_json),
    passwordHash: row.password_hash,
    enrolledAt: row.enrolled_at,
    reportedDirectiveSeq: row.reported_directive_seq,
    statusAt: row.status_at,
  }
}

function toRow(record: DeviceRecord): Omit<DeviceRow, 'desired_model_id'> {
  return {
    device_id: record.deviceId,
    password_hash: record.passwordHash,
    enrolled_at: record.enrolledAt,
    is_online: record.isOnline ? 1 : 0,
    status_at: record.statusAt,
    first_seen_at: record.firstSeenAt,
    last_seen_at: record.lastSeenAt,
    agent_version: record.agentVersion,
    hardware_json: record.hardware === null ? null : JSON.stringify(record.hardware),
    execution_providers_json: JSON.stringify(record.executionProviders),
    execution_provider: record.executionProvider,
    active_model_json: record.activeModel === null ? null : JSON.stringify(record.activeModel),
    reported_directive_seq: record.reportedDirectiveSeq,
    install_state: record.install.state,
    install_progress: record.install.progress,
    install_error_code: record.install.errorCode,
    install_message: record.install.message,
    latency_json: record.latency === null ? null : JSON.stringify(record.latency),
  }
}

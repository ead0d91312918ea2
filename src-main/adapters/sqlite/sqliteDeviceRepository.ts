import type { ActiveModel, ExecutionProviderProbe, Hardware, InstallState, LatencySummary } from '../../../src-shared/domain/device.ts'
import type { DeviceRecord } from '../../core/fleet/deviceRecord.ts'
import type { DeviceRepository } from '../../ports/DeviceRepository.ts'
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

// desiredModelId is not stored on the device: it is the model of the newest install directive, one source of truth.
const selectColumns = `
  SELECT d.*, (SELECT model_id FROM directives r WHERE r.device_id = d.device_id AND r.action = 'install'
               ORDER BY r.seq DESC LIMIT 1) AS desired_model_id
  FROM devices d`

/** DeviceRepository over better-sqlite3. JSON columns hold values that were validated by zod before they were stored. */
export function createSqliteDeviceRepository(db: SqliteDatabase): DeviceRepository {
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
  const update = db.transaction((deviceId: string, change: (record: DeviceRecord | undefined) => DeviceRecord | undefined) => {
    const next = change(readOne(deviceId))
    if (next === undefined) return undefined
    upsert.run(toRow({ ...next, deviceId }))
    return readOne(deviceId)
  })

  return {
    async list() {
      return selectAll.all().map(fromRow)
    },
    async get(deviceId) {
      return readOne(deviceId)
    },
    async update(deviceId, change) {
      return update(deviceId, change)
    },
    async markAllOffline() {
      setAllOffline.run()
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

/**
 * Rollouts in SQLite. The record and each device row are stored as JSON written only by this adapter (rows are not
 * re-validated on read: a tick reads 10,000 of them), with status columns for the queries a restart needs. Every
 * save is one IMMEDIATE transaction that also opens ledger entries for new send intents and appends the audit
 * entries, so state, ledger and audit never disagree after a crash. The database runs with synchronous=FULL
 * (openDatabase), so a resolved save or receipt survives a power cut.
 */
import { RolloutRecord, type RolloutDevice } from '../../../src-shared/domain/rollout.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { applySendReceipt, applySendRefusal, withdrawInstall } from '../../core/rollout/rolloutMachine.ts'
import type { LedgerEntry, RolloutRepository, RolloutSave, SendReceipt } from '../../ports/RolloutRepository.ts'
import type { SqliteDatabase } from './openDatabase.ts'
import type { SqliteAuditLog } from './sqliteAuditLog.ts'

interface RolloutRow {
  rollout_id: string
  status: string
  revision: number
  created_at: string
  updated_at: string
  record_json: string
}

interface DeviceRow {
  rollout_id: string
  device_id: string
  position: number
  status: string
  row_json: string
}

interface LedgerRow {
  rollout_id: string
  device_id: string
  action: 'install' | 'rollback'
  attempt: number
  seq_before: number
  intent_at: string
  seq: number | null
  sent_at: string | null
  withdrawn_at: string | null
}

const IN_FLIGHT = "('sending', 'sent', 'installing', 'rollback-sending', 'rollback-sent')"

export function createSqliteRolloutRepository(db: SqliteDatabase, audit: SqliteAuditLog): RolloutRepository {
  // Directive intents and receipts must survive a power cut; openDatabase already sets FULL, this keeps it so.
  db.pragma('synchronous = FULL')
  const selectRevision = db.prepare<[string], { revision: number }>('SELECT revision FROM rollouts WHERE rollout_id = ?')
  const insertRollout = db.prepare<RolloutRow>(`
    INSERT INTO rollouts (rollout_id, status, revision, created_at, updated_at, record_json)
    VALUES (@rollout_id, @status, @revision, @created_at, @updated_at, @record_json)`)
  const updateRollout = db.prepare<RolloutRow>(`
    UPDATE rollouts SET status = @status, revision = @revision, updated_at = @updated_at, record_json = @record_json
    WHERE rollout_id = @rollout_id`)
  const deleteDevices = db.prepare<[string]>('DELETE FROM rollout_devices WHERE rollout_id = ?')
  const upsertDevice = db.prepare<DeviceRow>(`
    INSERT INTO rollout_devices (rollout_id, device_id, position, status, row_json)
    VALUES (@rollout_id, @device_id, @position, @status, @row_json)
    ON CONFLICT (rollout_id, device_id) DO UPDATE SET position = excluded.position, status = excluded.status, row_json = excluded.row_json`)
  const openIntent = db.prepare<Omit<LedgerRow, 'seq' | 'sent_at' | 'withdrawn_at'>>(`
    INSERT INTO rollout_directives (rollout_id, device_id, action, attempt, seq_before, intent_at)
    VALUES (@rollout_id, @device_id, @action, @attempt, @seq_before, @intent_at)
    ON CONFLICT (rollout_id, device_id, action, attempt) DO UPDATE
      SET seq_before = excluded.seq_before, intent_at = excluded.intent_at, withdrawn_at = NULL
      WHERE rollout_directives.seq IS NULL`)
  const closeIntent = db.prepare<{ rollout_id: string; device_id: string; action: string; attempt: number; seq: number | null; at: string }>(`
    UPDATE rollout_directives
    SET seq = @seq, sent_at = CASE WHEN @seq IS NULL THEN NULL ELSE @at END, withdrawn_at = CASE WHEN @seq IS NULL THEN @at ELSE NULL END
    WHERE rollout_id = @rollout_id AND device_id = @device_id AND action = @action AND attempt = @attempt AND seq IS NULL`)
  const selectRollout = db.prepare<[string], RolloutRow>('SELECT * FROM rollouts WHERE rollout_id = ?')
  const selectRollouts = db.prepare<[], RolloutRow>('SELECT * FROM rollouts ORDER BY created_at DESC, rollout_id DESC')
  const selectUnsettled = db.prepare<[string], RolloutRow>(`
    SELECT * FROM rollouts r
    WHERE r.status IN ('running', 'paused', 'waiting-approval')
       OR EXISTS (SELECT 1 FROM rollout_devices d WHERE d.rollout_id = r.rollout_id AND d.status IN ${IN_FLIGHT})
       OR (r.updated_at > ? AND EXISTS (SELECT 1 FROM rollout_devices d WHERE d.rollout_id = r.rollout_id AND d.status = 'silent'))
    ORDER BY r.created_at, r.rollout_id`)
  const selectDevices = db.prepare<[string], { row_json: string }>('SELECT row_json FROM rollout_devices WHERE rollout_id = ? ORDER BY position')
  const selectDevice = db.prepare<[string, string], { row_json: string }>('SELECT row_json FROM rollout_devices WHERE rollout_id = ? AND device_id = ?')
  const selectCounts = db.prepare<[], { rollout_id: string; count: number }>('SELECT rollout_id, count(*) AS count FROM rollout_devices GROUP BY rollout_id')
  const selectLedger = db.prepare<[string], LedgerRow>('SELECT * FROM rollout_directives WHERE rollout_id = ? ORDER BY intent_at, device_id, action, attempt')

  const toRolloutRow = (rollout: RolloutRecord): RolloutRow => ({
    rollout_id: rollout.rolloutId,
    status: rollout.status,
    revision: rollout.revision,
    created_at: rollout.createdAt,
    updated_at: rollout.updatedAt,
    record_json: JSON.stringify(rollout),
  })
  const toDeviceRow = (rolloutId: string, row: RolloutDevice): DeviceRow => ({
    rollout_id: rolloutId,
    device_id: row.deviceId,
    position: row.position,
    status: row.status,
    row_json: JSON.stringify(row),
  })
  // The record is small and read once per tick: validate it, so a hand-edited database fails loudly here.
  const toRecord = (row: RolloutRow): RolloutRecord => RolloutRecord.parse(JSON.parse(row.record_json))
  const toDevice = (row: { row_json: string }) => JSON.parse(row.row_json) as RolloutDevice

  const writeDevice = (rolloutId: string, row: RolloutDevice) => {
    upsertDevice.run(toDeviceRow(rolloutId, row))
    if (row.status === 'sending' && row.intentAt !== null) {
      openIntent.run({ rollout_id: rolloutId, device_id: row.deviceId, action: 'install', attempt: row.attempt, seq_before: row.seqBefore ?? 0, intent_at: row.intentAt })
    } else if (row.status === 'rollback-sending' && row.rollbackIntentAt !== null) {
      openIntent.run({
        rollout_id: rolloutId,
        device_id: row.deviceId,
        action: 'rollback',
        attempt: row.rollbackAttempt,
        seq_before: row.rollbackSeqBefore ?? 0,
        intent_at: row.rollbackIntentAt,
      })
    }
  }

  const save = db.transaction((change: RolloutSave) => {
    const { rollout } = change
    const stored = selectRevision.get(rollout.rolloutId)
    if (change.expectedRevision === null) {
      if (stored) throw new AppError('conflict', `Rollout ${rollout.rolloutId} already exists`, { rolloutId: rollout.rolloutId })
      insertRollout.run(toRolloutRow(rollout))
    } else {
      if (!stored || stored.revision !== change.expectedRevision) {
        throw new AppError('conflict', `Rollout ${rollout.rolloutId} was changed by another writer; reload and try again`, {
          rolloutId: rollout.rolloutId,
          expectedRevision: change.expectedRevision,
          storedRevision: stored?.revision ?? null,
        })
      }
      updateRollout.run(toRolloutRow(rollout))
    }
    if (change.replaceDevices) deleteDevices.run(rollout.rolloutId)
    for (const row of change.devices) writeDevice(rollout.rolloutId, row)
    for (const draft of change.audit) audit.appendInTransaction(draft, rollout.updatedAt)
  })

  // Receipts of a batch of sends share one transaction (one fsync): a crash before it commits leaves intents that
  // the next tick matches against the devices' newest directives, so nothing is sent twice.
  const recordSends = db.transaction((receipts: readonly SendReceipt[], at: string): RolloutDevice[] => {
    const stored: RolloutDevice[] = []
    for (const { request, seq, refusal } of receipts) {
      const found = selectDevice.get(request.rolloutId, request.deviceId)
      if (!found) continue
      const row = toDevice(found)
      const next =
        refusal !== undefined
          ? applySendRefusal(row, request, refusal.code, refusal.message, at)
          : seq === null
            ? request.action === 'install'
              ? withdrawInstall(row)
              : row
            : applySendReceipt(row, request, seq, at)
      const isCurrentAttempt = request.action === 'install' ? row.attempt === request.attempt : row.rollbackAttempt === request.attempt
      if (isCurrentAttempt) closeIntent.run({ rollout_id: request.rolloutId, device_id: request.deviceId, action: request.action, attempt: request.attempt, seq, at })
      if (next !== row) upsertDevice.run(toDeviceRow(request.rolloutId, next))
      stored.push(next)
    }
    return stored
  })

  return {
    async save(change) {
      save.immediate(change)
    },
    async get(rolloutId) {
      const row = selectRollout.get(rolloutId)
      return row && toRecord(row)
    },
    async list() {
      return selectRollouts.all().map(toRecord)
    },
    async devices(rolloutId) {
      return selectDevices.all(rolloutId).map(toDevice)
    },
    async deviceCounts() {
      return new Map(selectCounts.all().map((row) => [row.rollout_id, row.count]))
    },
    async listUnsettled(watchSilentSince) {
      return selectUnsettled.all(watchSilentSince).map(toRecord)
    },
    async recordSends(receipts, at) {
      return receipts.length === 0 ? [] : recordSends.immediate(receipts, at)
    },
    async ledger(rolloutId) {
      return selectLedger.all(rolloutId).map(
        (row): LedgerEntry => ({
          rolloutId: row.rollout_id,
          deviceId: row.device_id,
          action: row.action,
          attempt: row.attempt,
          seqBefore: row.seq_before,
          intentAt: row.intent_at,
          seq: row.seq,
          sentAt: row.sent_at,
          withdrawnAt: row.withdrawn_at,
        }),
      )
    },
  }
}

/**
 * Each device's newest directive from the directives table (what modelService's deploy path writes), for
 * DirectiveSender.latest: one grouped query for many devices, a keyed lookup for a few.
 */
export function createSqliteLatestDirectiveLookup(db: SqliteDatabase) {
  type Row = { device_id: string; seq: number; action: string; artifact_sha256: string | null }
  const selectOne = db.prepare<[string], Row>('SELECT device_id, seq, action, artifact_sha256 FROM directives WHERE device_id = ? ORDER BY seq DESC LIMIT 1')
  const selectAll = db.prepare<[], Row>(`
    SELECT d.device_id, d.seq, d.action, d.artifact_sha256
    FROM directives d JOIN (SELECT device_id, max(seq) AS seq FROM directives GROUP BY device_id) newest USING (device_id, seq)`)
  const toIssued = (row: Row) => ({
    seq: row.seq,
    action: row.action === 'install' ? ('install' as const) : ('noop' as const),
    artifactSha256: row.artifact_sha256,
  })
  return (deviceIds: readonly string[]) => {
    const result = new Map<string, ReturnType<typeof toIssued>>()
    if (deviceIds.length > 64) {
      const wanted = new Set(deviceIds)
      for (const row of selectAll.all()) if (wanted.has(row.device_id)) result.set(row.device_id, toIssued(row))
      return result
    }
    for (const deviceId of deviceIds) {
      const row = selectOne.get(deviceId)
      if (row) result.set(deviceId, toIssued(row))
    }
    return result
  }
}

/**
 * Device tags for rollout targets, from the devices table's tags_json (set by 'devices.tag'); a tag 'group:NAME'
 * also puts the device in group NAME. Reads nothing when the column does not exist.
 */
export function createSqliteDeviceLabelLookup(db: SqliteDatabase) {
  const hasTags = db.prepare<[], { name: string }>('PRAGMA table_info(devices)').all().some((column) => column.name === 'tags_json')
  const select = hasTags ? db.prepare<[], { device_id: string; tags_json: string | null }>('SELECT device_id, tags_json FROM devices') : undefined
  return async (): Promise<Map<string, { tags: string[]; groups: string[] }>> => {
    const labels = new Map<string, { tags: string[]; groups: string[] }>()
    for (const row of select?.all() ?? []) {
      const parsed: unknown = row.tags_json === null ? [] : JSON.parse(row.tags_json)
      const tags = Array.isArray(parsed) ? parsed.filter((tag): tag is string => typeof tag === 'string') : []
      labels.set(row.device_id, { tags, groups: tags.filter((tag) => tag.startsWith('group:')).map((tag) => tag.slice('group:'.length)) })
    }
    return labels
  }
}

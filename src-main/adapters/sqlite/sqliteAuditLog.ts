/**
 * The audit log in SQLite: one row per entry, hash-chained by core/audit, in a table whose triggers refuse UPDATE
 * and DELETE. Appends read the head and insert in one transaction, so concurrent appends cannot fork the chain.
 */
import { buildAuditEntry, verifyAuditChain, type AuditDraft, type AuditEntry } from '../../core/audit/auditChain.ts'
import type { AuditLog } from '../../ports/AuditLog.ts'
import type { Clock } from '../../ports/Clock.ts'
import type { ContentHasher } from '../../ports/ContentHasher.ts'
import type { SqliteDatabase } from './openDatabase.ts'

interface AuditRow {
  seq: number
  at: string
  actor: string
  action: string
  subject: string
  reason: string
  details_json: string
  prev_hash: string
  hash: string
}

const toEntry = (row: AuditRow): AuditEntry => ({
  seq: row.seq,
  at: row.at,
  actor: row.actor,
  action: row.action,
  subject: row.subject,
  reason: row.reason,
  details: JSON.parse(row.details_json) as Record<string, unknown>,
  prevHash: row.prev_hash,
  hash: row.hash,
})

export interface SqliteAuditLog extends AuditLog {
  /** Appends inside the caller's transaction (the rollout repository writes state and its audit entries together). */
  appendInTransaction(draft: AuditDraft, at: string): AuditEntry
}

export function createSqliteAuditLog(db: SqliteDatabase, hasher: ContentHasher, clock: Clock): SqliteAuditLog {
  const sha256 = (bytes: Uint8Array) => hasher.sha256Hex(bytes)
  const selectHead = db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')
  const insert = db.prepare<AuditRow>(`
    INSERT INTO audit_log (seq, at, actor, action, subject, reason, details_json, prev_hash, hash)
    VALUES (@seq, @at, @actor, @action, @subject, @reason, @details_json, @prev_hash, @hash)`)
  const selectAll = db.prepare<[], AuditRow>('SELECT * FROM audit_log ORDER BY seq')
  const selectNewest = db.prepare<[number], AuditRow>('SELECT * FROM (SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?) ORDER BY seq')
  const selectBySubject = db.prepare<[string, number], AuditRow>(
    'SELECT * FROM (SELECT * FROM audit_log WHERE subject = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
  )

  function appendInTransaction(draft: AuditDraft, at: string): AuditEntry {
    const entry = buildAuditEntry(sha256, selectHead.get() ?? null, draft, at)
    insert.run({
      seq: entry.seq,
      at: entry.at,
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      reason: entry.reason,
      details_json: JSON.stringify(entry.details),
      prev_hash: entry.prevHash,
      hash: entry.hash,
    })
    return entry
  }
  const append = db.transaction((draft: AuditDraft, at: string) => appendInTransaction(draft, at))

  return {
    appendInTransaction,
    async append(draft) {
      return append.immediate(draft, new Date(clock.nowMs()).toISOString())
    },
    async list(filter = {}) {
      const limit = filter.limit ?? Number.MAX_SAFE_INTEGER
      const rows = filter.subject === undefined ? selectNewest.all(limit) : selectBySubject.all(filter.subject, limit)
      return rows.map(toEntry)
    },
    async verify(expectedHead) {
      return verifyAuditChain(selectAll.all().map(toEntry), sha256, expectedHead)
    },
  }
}

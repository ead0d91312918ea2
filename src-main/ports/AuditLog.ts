import type { AuditDraft, AuditEntry, AuditHead, AuditVerification } from '../core/audit/auditChain.ts'

/**
 * The append-only, hash-chained audit log (issue 6 §3). Entries can be added, never changed or removed (the SQLite
 * table refuses UPDATE and DELETE); `verify` recomputes the chain and finds any edit, deletion or reordering.
 */
export interface AuditLog {
  /** Appends an entry dated now. */
  append(draft: AuditDraft): Promise<AuditEntry>
  /** Entries oldest first, optionally of one subject (e.g. a rollout id), at most `limit` of the newest. */
  list(filter?: { subject?: string; limit?: number }): Promise<AuditEntry[]>
  /** Checks the whole chain; `expectedHead` (recorded elsewhere) also catches entries cut from its end. */
  verify(expectedHead?: AuditHead): Promise<AuditVerification>
}

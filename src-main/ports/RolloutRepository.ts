import type { RolloutDevice, RolloutRecord } from '../../src-shared/domain/rollout.ts'
import type { AuditDraft } from '../core/audit/auditChain.ts'
import type { DirectiveRequest } from '../core/rollout/rolloutMachine.ts'

/** One atomic write of a rollout's state (anchors-security.md §10.7: rollout state lives in SQLite). */
export interface RolloutSave {
  rollout: RolloutRecord
  /** Rows to insert or replace. Rows entering 'sending' / 'rollback-sending' also open a ledger entry. */
  devices: readonly RolloutDevice[]
  /** Delete the rollout's other rows first (a start re-plans every device). */
  replaceDevices?: boolean
  /** Appended to the audit log in the same transaction, dated rollout.updatedAt. */
  audit: readonly AuditDraft[]
  /**
   * The revision the caller read (null: a new rollout). A different stored revision means another writer got
   * there first: AppError 'conflict', nothing written.
   */
  expectedRevision: number | null
}

export interface SendReceipt {
  request: DirectiveRequest
  seq: number | null
  refusal?: { code: string; message: string }
}

/** A directive of a rollout as the ledger keeps it: decided (intent) first, then sent with its seq, or withdrawn. */
export interface LedgerEntry {
  rolloutId: string
  deviceId: string
  action: 'install' | 'rollback'
  attempt: number
  seqBefore: number
  intentAt: string
  seq: number | null
  sentAt: string | null
  withdrawnAt: string | null
}

/** Rollouts, their device rows and the directive ledger. Writes are durable (synchronous=FULL) when they resolve. */
export interface RolloutRepository {
  /** Throws AppError 'conflict' on a revision mismatch or an existing id for a new rollout. */
  save(change: RolloutSave): Promise<void>
  get(rolloutId: string): Promise<RolloutRecord | undefined>
  /** Newest first. */
  list(): Promise<RolloutRecord[]>
  /** The rollout's rows in plan order. */
  devices(rolloutId: string): Promise<RolloutDevice[]>
  /** Device counts per rollout, for lists. */
  deviceCounts(): Promise<Map<string, number>>
  /**
   * What the ticks (and a restart) must pick up: rollouts that run, wait or pause; finished ones with directives in
   * flight; and finished ones with silent devices, while the rollout last changed after `watchSilentSince` (a
   * silent device that comes back still gets its account right).
   */
  listUnsettled(watchSilentSince: string): Promise<RolloutRecord[]>
  /**
   * Records sends on the ledger and the rows, all in one transaction: `seq` when the directive is out (row → 'sent'
   * / 'rollback-sent'), null when an unsent install intent is withdrawn (row → 'planned'), or a refusal when the
   * sender will never send it (row → 'failed' with the code). A receipt for another attempt than the row's current
   * one changes nothing. Returns the rows as stored.
   */
  recordSends(receipts: readonly SendReceipt[], at: string): Promise<RolloutDevice[]>
  /** Every directive of the rollout, in decision order. */
  ledger(rolloutId: string): Promise<LedgerEntry[]>
}

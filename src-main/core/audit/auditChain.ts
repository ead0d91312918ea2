/**
 * The append-only, hash-chained audit log (issue 6 §3): each entry's hash is
 * sha256(previous hash bytes || canonical JSON bytes of the entry), so editing, deleting or reordering any entry
 * breaks every link after it. Pure: SHA-256 is passed in. A chain cut at its end is only detectable against a head
 * (seq, hash) recorded elsewhere, hence `expectedHead`.
 */
import { concatBytes, decodeHex, encodeUtf8 } from '../../../src-shared/trust/bytes.ts'
import { assert } from '../../../src-shared/errors.ts'
import { canonicalJson } from './canonicalJson.ts'

/** Lowercase hex SHA-256 of bytes. */
export type Sha256Hex = (bytes: Uint8Array) => string

/** The hash the first entry links to. */
export const GENESIS_HASH = '0'.repeat(64)

/** What a caller records: who did what to which subject, and why. */
export interface AuditDraft {
  /** Who: an operator name as the client declared it, plus the connection; 'system' for the rollout engine. */
  actor: string
  /** What, as `<feature>.<verb>` (e.g. 'rollout.aborted'). */
  action: string
  /** Which object, e.g. a rollout id. */
  subject: string
  reason: string
  details: Record<string, unknown>
}

export interface AuditEntryBody extends AuditDraft {
  /** 1, 2, 3 ... without gaps. */
  seq: number
  at: string
}

export interface AuditEntry extends AuditEntryBody {
  prevHash: string
  hash: string
}

export interface AuditHead {
  seq: number
  hash: string
}

export function auditEntryBytes(body: AuditEntryBody): Uint8Array {
  const { seq, at, actor, action, subject, reason, details } = body
  return encodeUtf8(canonicalJson({ seq, at, actor, action, subject, reason, details }))
}

export function chainHash(sha256: Sha256Hex, prevHash: string, body: AuditEntryBody): string {
  const prev = decodeHex(prevHash)
  assert(prev !== undefined && prev.length === 32, `Audit prev hash is not 32 bytes of hex: ${prevHash}`)
  return sha256(concatBytes(prev, auditEntryBytes(body)))
}

/** The next entry after `head` (null for an empty log). */
export function buildAuditEntry(sha256: Sha256Hex, head: AuditHead | null, draft: AuditDraft, at: string): AuditEntry {
  const body: AuditEntryBody = { ...draft, details: JSON.parse(JSON.stringify(draft.details)) as Record<string, unknown>, seq: (head?.seq ?? 0) + 1, at }
  const prevHash = head?.hash ?? GENESIS_HASH
  return { ...body, prevHash, hash: chainHash(sha256, prevHash, body) }
}

export type AuditProblem = 'sequence-gap' | 'broken-link' | 'hash-mismatch' | 'head-mismatch'

export type AuditVerification =
  | { isValid: true; entryCount: number; head: AuditHead | null }
  | { isValid: false; entryCount: number; problem: AuditProblem; seq: number; message: string }

/**
 * Checks a whole log, oldest first: seqs run 1..n, each entry links to the previous hash, each hash recomputes.
 * The first problem found is reported (its seq: the entry where the chain stops being trustworthy).
 */
export function verifyAuditChain(entries: readonly AuditEntry[], sha256: Sha256Hex, expectedHead?: AuditHead): AuditVerification {
  let prevHash = GENESIS_HASH
  let expectedSeq = 1
  const fail = (problem: AuditProblem, seq: number, message: string): AuditVerification => ({
    isValid: false,
    entryCount: entries.length,
    problem,
    seq,
    message,
  })
  for (const entry of entries) {
    if (entry.seq !== expectedSeq) return fail('sequence-gap', entry.seq, `expected entry ${expectedSeq}, found ${entry.seq}: entries were deleted or reordered`)
    if (entry.prevHash !== prevHash) return fail('broken-link', entry.seq, `entry ${entry.seq} does not link to the entry before it`)
    if (chainHash(sha256, entry.prevHash, entry) !== entry.hash) return fail('hash-mismatch', entry.seq, `entry ${entry.seq} was changed after it was written`)
    prevHash = entry.hash
    expectedSeq += 1
  }
  const last = entries[entries.length - 1]
  const head = last ? { seq: last.seq, hash: last.hash } : null
  if (expectedHead && (head === null || head.seq < expectedHead.seq || (head.seq === expectedHead.seq && head.hash !== expectedHead.hash))) {
    return fail('head-mismatch', expectedHead.seq, `the log ends before the recorded head (entry ${expectedHead.seq}): entries were removed from its end`)
  }
  if (expectedHead && head && head.seq > expectedHead.seq) {
    const atHead = entries[expectedHead.seq - 1]
    if (atHead?.hash !== expectedHead.hash) return fail('head-mismatch', expectedHead.seq, `entry ${expectedHead.seq} differs from the recorded head`)
  }
  return { isValid: true, entryCount: entries.length, head }
}

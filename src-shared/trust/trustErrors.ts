/**
 * Why a piece of signed metadata or an artifact was refused. The set is closed so the agent, the CLI and the UI
 * can each say something specific; the lead maps these into ErrorCode where they cross the RPC boundary.
 */
export const trustErrorCodes = [
  /** Bytes over the cap for their kind; nothing was parsed. */
  'oversized',
  /** Not an envelope, not UTF-8 JSON, or the payload does not match its schema (unsafe integers included). */
  'malformed',
  /** A file name that could escape its directory or is not in the allowed alphabet. */
  'path-unsafe',
  /** The envelope's type is not the one expected here (a directive offered as a release, ...). */
  'wrong-type',
  /** A signature from a key of the role did not verify and the threshold was not met. */
  'signature-invalid',
  /** Too few distinct keys of the role signed. */
  'threshold-not-met',
  /** A key in a root is not a valid Ed25519 public key (small-order, non-canonical, off the curve). */
  'key-invalid',
  /** A root lists a key under a keyid that is not the SHA-256 of that key. */
  'keyid-mismatch',
  /** A root's roles are inconsistent: shared keys, unknown keyids, impossible thresholds. */
  'root-invalid',
  /** No trusted root was supplied. */
  'root-missing',
  /** A root version that is not exactly one more than the trusted one, skipping ahead. */
  'root-version-skip',
  /** A directive made for another root version than the device trusts. */
  'root-version-mismatch',
  /** Metadata whose expiry is at or before the trusted time. */
  'metadata-expired',
  /** A directive whose not_before is after the trusted time. */
  'not-yet-valid',
  /** No fresh director heartbeat for too long: someone may be withholding updates. */
  'frozen',
  /** A counter would go backwards: root version, floor version, or an install to an older release. */
  'rollback-detected',
  /** A rollback directive that names a release not older than the installed one. */
  'not-a-rollback',
  /** A directive sequence number at or below the last accepted one. */
  'replayed-directive',
  /** A device report sequence number at or below the last accepted one. */
  'replayed-report',
  /** A heartbeat not newer than the last accepted one. */
  'replayed-heartbeat',
  /** A report whose trusted time is too far from the receiver's clock. */
  'stale-report',
  /** Metadata bound to another device. */
  'wrong-device',
  /** The directive's expect_current does not match the release the device runs. */
  'cas-mismatch',
  /** Bytes whose SHA-256 is not the one the signed metadata names. */
  'hash-mismatch',
  /** A file or chunk longer or shorter than the signed metadata says. */
  'length-mismatch',
  /** A manifest that does not belong to the directive naming it (model id or release counter differ). */
  'mix-and-match',
  /** A release below the security floor of its model. */
  'below-floor',
  /** A release the device marked bad after a failed health check, offered without retry. */
  'bad-release',
  /** The release cannot run here (runtime, opset, execution providers, hardware, agent version). */
  'incompatible',
  /** A step needs an input that was not supplied (a directive naming a release but no manifest). */
  'missing-input',
] as const

export type TrustErrorCode = (typeof trustErrorCodes)[number]

export type TrustStage = 'root' | 'floor' | 'directive' | 'release' | 'artifact' | 'heartbeat' | 'report' | 'freshness'

export interface TrustRejection {
  verdict: 'reject'
  code: TrustErrorCode
  /** One line a person can act on. */
  reason: string
  stage: TrustStage
}

export function reject(stage: TrustStage, code: TrustErrorCode, reason: string): TrustRejection {
  return { verdict: 'reject', code, reason, stage }
}

export function isTrustErrorCode(value: unknown): value is TrustErrorCode {
  return typeof value === 'string' && (trustErrorCodes as readonly string[]).includes(value)
}

/** Narrows a `value | TrustRejection` union. */
export function isRejection<T extends object>(value: T | TrustRejection): value is TrustRejection {
  return 'verdict' in value && value.verdict === 'reject'
}

/**
 * Errors that survive every transport (IPC, WebSocket, MQTT, CLI exit lines).
 * Expected failures carry a closed ErrorCode; broken invariants throw BugError.
 * See anchors-aesthetics.md §4.6.
 */
import type { TrustErrorCode } from './trust/trustErrors.ts'

/** The closed set of failure codes. Adding one is a reviewed change: the UI maps each to a sentence and an action. */
export const errorCodes = [
  'invalid-input',
  'not-found',
  'conflict',
  'unauthorized',
  'forbidden',
  'unavailable',
  'timeout',
  'port-in-use',
  'data-dir-unwritable',
  'database-corrupt',
  'broker-unreachable',
  'broker-url-invalid',
  'model-invalid',
  'model-unsupported',
  'model-load-failed',
  'inference-failed',
  'artifact-corrupt',
  'transfer-failed',
  'disk-full',
  'message-invalid',
  'message-too-large',
  'electron-unavailable',
  // Trust (anchors-security.md §10): signed metadata or a release bundle was refused. TrustErrorCode is finer;
  // errorCodeForTrust maps it here, and the exact trust code travels in details.trustCode.
  'signature-invalid',
  'threshold-not-met',
  'metadata-expired',
  'metadata-invalid',
  'path-unsafe',
  'root-invalid',
  'rollback-detected',
  'replay-detected',
  'wrong-device',
  'below-floor',
  'bad-release',
  'hash-mismatch',
  'bundle-invalid',
  'not-release-ready',
  'trust-not-configured',
  'internal',
] as const

export type ErrorCode = (typeof errorCodes)[number]

export interface WireError {
  code: ErrorCode
  message: string
  details?: Record<string, unknown>
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (errorCodes as readonly string[]).includes(value)
}

/** A failure the user can act on. Its code crosses IPC, WebSocket and MQTT intact; its stack never does. */
export class AppError extends Error {
  override readonly name = 'AppError'
  readonly code: ErrorCode
  readonly details: Record<string, unknown> | undefined

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message)
    this.code = code
    this.details = details
  }

  toWire(): WireError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details }
  }

  static fromWire(error: WireError): AppError {
    return new AppError(isErrorCode(error.code) ? error.code : 'internal', error.message, error.details)
  }
}

/** A broken invariant: a bug in our code, never bad input. Logged with its stack where it happened. */
export class BugError extends Error {
  override readonly name = 'BugError'
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new BugError(message)
}

/** Put in a switch's default branch: adding a union member becomes a compile error until it is handled. */
export function unreachable(value: never): never {
  throw new BugError(`Unhandled case: ${JSON.stringify(value)}`)
}

/**
 * Where a trust rejection crosses the RPC boundary or the CLI: the closest ErrorCode. Exhaustive, so a new
 * TrustErrorCode is a compile error here until it is placed.
 */
const errorCodeByTrustCode: Readonly<Record<TrustErrorCode, ErrorCode>> = {
  oversized: 'metadata-invalid',
  malformed: 'metadata-invalid',
  'path-unsafe': 'path-unsafe',
  'wrong-type': 'metadata-invalid',
  'signature-invalid': 'signature-invalid',
  'threshold-not-met': 'threshold-not-met',
  'key-invalid': 'root-invalid',
  'keyid-mismatch': 'root-invalid',
  'root-invalid': 'root-invalid',
  'root-missing': 'root-invalid',
  'root-version-skip': 'root-invalid',
  'root-version-mismatch': 'root-invalid',
  'metadata-expired': 'metadata-expired',
  'not-yet-valid': 'metadata-expired',
  frozen: 'metadata-expired',
  'rollback-detected': 'rollback-detected',
  'not-a-rollback': 'rollback-detected',
  'replayed-directive': 'replay-detected',
  'replayed-report': 'replay-detected',
  'replayed-heartbeat': 'replay-detected',
  'stale-report': 'replay-detected',
  'wrong-device': 'wrong-device',
  'cas-mismatch': 'conflict',
  'hash-mismatch': 'hash-mismatch',
  'length-mismatch': 'hash-mismatch',
  'mix-and-match': 'metadata-invalid',
  'below-floor': 'below-floor',
  'bad-release': 'bad-release',
  incompatible: 'model-unsupported',
  'missing-input': 'metadata-invalid',
}

export function errorCodeForTrust(code: TrustErrorCode): ErrorCode {
  return errorCodeByTrustCode[code]
}

/** A trust rejection as an AppError; details.trustCode keeps the exact code for logs, the CLI and reports. */
export function trustRejectionError(rejection: { code: TrustErrorCode; reason: string; stage: string }, details: Record<string, unknown> = {}): AppError {
  return new AppError(errorCodeForTrust(rejection.code), rejection.reason, { ...details, trustCode: rejection.code, stage: rejection.stage })
}

/** Converts anything thrown into a wire error: AppError passes through, everything else becomes 'internal'. */
export function toWireError(error: unknown): WireError {
  if (error instanceof AppError) return error.toWire()
  return { code: 'internal', message: 'Internal error; see the log of the process that failed' }
}

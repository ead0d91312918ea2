/**
 * Device reports, verified by the control center (anchors-security.md §10.3 "device report", Uptane version
 * reports): signed by the device key enrolled for that device, strictly increasing report_seq, and a trusted
 * time close to the receiver's clock.
 */
import { checkThreshold, decodeEnvelope, thresholdRejection, type TrustedRoleKeys } from './envelope.ts'
import { checkPublicKey, keyIdOf } from './ed25519.ts'
import { DeviceReport, instantMs, parsePayload } from './metadata.ts'
import type { TrustContext } from './verifyRoot.ts'
import { reject, type TrustRejection } from './trustErrors.ts'

/** §10.1: reports must be within ±10 min of the receiver's time. */
export const MAX_REPORT_CLOCK_SKEW_MS = 10 * 60 * 1000

export interface EnrolledDevice {
  deviceId: string
  /** The raw 32-byte Ed25519 key registered at enrollment. */
  publicKey: Uint8Array
  /** Highest report_seq accepted so far (0 when none). */
  lastReportSeq: number
}

export type ReportResult = { verdict: 'accept'; report: DeviceReport; lastReportSeq: number } | TrustRejection

export function verifyReport(device: EnrolledDevice, reportEnvelope: Uint8Array, context: TrustContext, maxSkewMs: number = MAX_REPORT_CLOCK_SKEW_MS): ReportResult {
  const decoded = decodeEnvelope(reportEnvelope, 'report', 'report')
  if (decoded.verdict === 'reject') return decoded
  const check = checkPublicKey(device.publicKey)
  if (!check.ok) return reject('report', 'key-invalid', `The enrolled key of ${device.deviceId} is not a usable Ed25519 key (${check.problem})`)
  const keys: TrustedRoleKeys = { role: 'device', threshold: 1, keys: new Map([[keyIdOf(context.sha256, device.publicKey), device.publicKey]]) }
  const threshold = checkThreshold(decoded.envelope, keys)
  if (!threshold.isMet) return thresholdRejection('report', `report from ${device.deviceId}`, keys, threshold)
  const parsed = parsePayload(DeviceReport, decoded.envelope.payloadBytes, 'report', 'device report')
  if (parsed.verdict === 'reject') return parsed
  const report = parsed.value
  if (report.device_id !== device.deviceId) return reject('report', 'wrong-device', `A report signed by ${device.deviceId}'s key names device ${report.device_id}`)
  if (report.report_seq <= device.lastReportSeq) {
    return reject('report', 'replayed-report', `Report seq ${report.report_seq} from ${device.deviceId} is not above the last accepted ${device.lastReportSeq}`)
  }
  const skewMs = Math.abs(instantMs(report.trusted_time) - context.nowMs)
  if (skewMs > maxSkewMs) {
    return reject('report', 'stale-report', `The report's trusted time ${report.trusted_time} is ${Math.round(skewMs / 1000)} s from this clock (limit ${maxSkewMs / 1000} s)`)
  }
  return { verdict: 'accept', report, lastReportSeq: report.report_seq }
}

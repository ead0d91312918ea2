/**
 * Director heartbeats (anchors-security.md §10.5): hourly, 24 h expiry, bound to the device. Each accepted one
 * proves the control center can still reach the device; checkFreshness turns their absence into 'frozen'.
 */
import { checkThreshold, decodeEnvelope, thresholdRejection } from './envelope.ts'
import { effectiveNowMs, type DeviceTrustState } from './deviceTrustState.ts'
import { HeartbeatMetadata, instantMs, parsePayload } from './metadata.ts'
import { roleKeys, type TrustContext } from './verifyRoot.ts'
import { isRejection, reject, type TrustRejection } from './trustErrors.ts'

export type HeartbeatResult = { verdict: 'accept'; newState: DeviceTrustState; heartbeat: HeartbeatMetadata } | TrustRejection

export function verifyHeartbeat(state: DeviceTrustState, heartbeatEnvelope: Uint8Array, context: TrustContext): HeartbeatResult {
  const nowMs = effectiveNowMs(state, context.nowMs)
  const decoded = decodeEnvelope(heartbeatEnvelope, 'heartbeat', 'heartbeat')
  if (decoded.verdict === 'reject') return decoded
  const keys = roleKeys(context.sha256, state.root, 'director', 'heartbeat')
  if (isRejection(keys)) return keys
  const threshold = checkThreshold(decoded.envelope, keys)
  if (!threshold.isMet) return thresholdRejection('heartbeat', 'heartbeat', keys, threshold)
  const parsed = parsePayload(HeartbeatMetadata, decoded.envelope.payloadBytes, 'heartbeat', 'heartbeat')
  if (parsed.verdict === 'reject') return parsed
  const heartbeat = parsed.value
  if (heartbeat.device_id !== state.deviceId) return reject('heartbeat', 'wrong-device', `The heartbeat is for device ${heartbeat.device_id}, not ${state.deviceId}`)
  if (heartbeat.root_version !== state.root.version) {
    return reject('heartbeat', 'root-version-mismatch', `The heartbeat was made for root version ${heartbeat.root_version}; this device trusts version ${state.root.version}`)
  }
  const issuedMs = instantMs(heartbeat.issued)
  if (state.lastHeartbeatIssuedMs !== null && issuedMs <= state.lastHeartbeatIssuedMs) {
    return reject('heartbeat', 'replayed-heartbeat', `The heartbeat issued at ${heartbeat.issued} is not newer than the last accepted one`)
  }
  if (instantMs(heartbeat.expires) <= nowMs) return reject('heartbeat', 'metadata-expired', `The heartbeat expired at ${heartbeat.expires}`)
  return {
    verdict: 'accept',
    heartbeat,
    newState: {
      ...state,
      lastHeartbeatIssuedMs: issuedMs,
      lastFreshAtMs: Math.max(state.lastFreshAtMs, issuedMs),
      trustedTimeMs: Math.max(nowMs, issuedMs),
    },
  }
}

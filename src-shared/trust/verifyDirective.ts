/**
 * Director directives (anchors-security.md §10.3, §10.6 step 3): signed by the director role of the current
 * root, bound to this device and root version, strictly increasing seq, within [not_before, expires), and
 * planned against the release the device actually runs (expect_current).
 */
import { checkThreshold, decodeEnvelope, thresholdRejection } from './envelope.ts'
import { effectiveNowMs, type DeviceTrustState } from './deviceTrustState.ts'
import { DirectiveMetadata, instantMs, parsePayload } from './metadata.ts'
import { roleKeys, type TrustContext } from './verifyRoot.ts'
import { isRejection, reject, type TrustRejection } from './trustErrors.ts'

export type DirectiveResult = { verdict: 'accept'; newState: DeviceTrustState; directive: DirectiveMetadata } | TrustRejection

export function verifyDirective(state: DeviceTrustState, directiveEnvelope: Uint8Array, context: TrustContext): DirectiveResult {
  const nowMs = effectiveNowMs(state, context.nowMs)
  const decoded = decodeEnvelope(directiveEnvelope, 'directive', 'directive')
  if (decoded.verdict === 'reject') return decoded
  const keys = roleKeys(context.sha256, state.root, 'director', 'directive')
  if (isRejection(keys)) return keys
  const threshold = checkThreshold(decoded.envelope, keys)
  if (!threshold.isMet) return thresholdRejection('directive', 'directive', keys, threshold)
  const parsed = parsePayload(DirectiveMetadata, decoded.envelope.payloadBytes, 'directive', 'directive')
  if (parsed.verdict === 'reject') return parsed
  const directive = parsed.value
  if (directive.device_id !== state.deviceId) {
    return reject('directive', 'wrong-device', `The directive is for device ${directive.device_id}, not ${state.deviceId}`)
  }
  if (directive.root_version !== state.root.version) {
    return reject('directive', 'root-version-mismatch', `The directive was made for root version ${directive.root_version}; this device trusts version ${state.root.version}`)
  }
  if (directive.seq <= state.directorSeq) {
    return reject('directive', 'replayed-directive', `Directive seq ${directive.seq} is not above the last accepted seq ${state.directorSeq}`)
  }
  if (instantMs(directive.not_before) > nowMs) {
    return reject('directive', 'not-yet-valid', `The directive is valid from ${directive.not_before}; trusted time is ${new Date(nowMs).toISOString()}`)
  }
  if (instantMs(directive.expires) <= nowMs) {
    return reject('directive', 'metadata-expired', `The directive expired at ${directive.expires}`)
  }
  if (directive.expect_current !== null) {
    const actual = state.active?.manifestSha256 ?? null
    if (directive.expect_current.manifest_sha256 !== actual) {
      return reject(
        'directive',
        'cas-mismatch',
        `The directive expects the device to run ${directive.expect_current.manifest_sha256?.slice(0, 12) ?? 'nothing'}, but it runs ${actual?.slice(0, 12) ?? 'nothing'}; the control center must re-plan`,
      )
    }
  }
  const issuedMs = instantMs(directive.issued)
  return {
    verdict: 'accept',
    directive,
    newState: {
      ...state,
      directorSeq: directive.seq,
      trustedTimeMs: Math.max(nowMs, issuedMs),
      lastFreshAtMs: Math.max(state.lastFreshAtMs, issuedMs),
    },
  }
}

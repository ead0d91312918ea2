/**
 * Release manifests (anchors-security.md §10.3, §10.6 step 4). A manifest is identified by the SHA-256 of its
 * payload bytes, so release signers can add signatures without changing the id a directive pins.
 */
import { encodeHex } from './bytes.ts'
import { checkThreshold, decodeEnvelope, thresholdRejection, type DecodedEnvelope, type EnvelopeType, type ThresholdResult } from './envelope.ts'
import { effectiveNowMs, floorOf, installedOf, type DeviceTrustState } from './deviceTrustState.ts'
import { instantMs, parsePayload, ReleaseManifest, type Compat, type DirectiveMetadata, type RoleName, type RootMetadata } from './metadata.ts'
import { roleKeys, type TrustContext } from './verifyRoot.ts'
import { isRejection, reject, type TrustRejection } from './trustErrors.ts'
import type { Sha256 } from './bytes.ts'

/** What the device reports about itself; compared with the manifest's compat block. */
export interface DeviceCapabilities {
  agentVersion: string
  /** Node's process.arch. */
  arch: string
  runtime: string
  runtimeVersion: string
  /** Highest ONNX opset the runtime supports. */
  opsetMax: number
  /** Execution providers that loaded on this device. */
  executionProviders: readonly string[]
}

function numericParts(version: string): number[] | undefined {
  const match = /^([0-9]{1,9}(?:\.[0-9]{1,9}){0,3})(?:[-+].*)?$/.exec(version)
  return match?.[1]?.split('.').map(Number)
}

/** Negative when `actual` is older than `minimum`; undefined when `actual` is not a dotted-number version. */
function compareToMinimum(actual: string, minimum: string): number | undefined {
  const actualParts = numericParts(actual)
  const minimumParts = numericParts(minimum)
  if (actualParts === undefined || minimumParts === undefined) return undefined
  for (let index = 0; index < Math.max(actualParts.length, minimumParts.length); index += 1) {
    const difference = (actualParts[index] ?? 0) - (minimumParts[index] ?? 0)
    if (difference !== 0) return difference
  }
  return 0
}

export function checkCompat(compat: Compat, device: DeviceCapabilities): { ok: true } | { ok: false; reason: string } {
  if (device.runtime !== compat.runtime) return { ok: false, reason: `needs runtime ${compat.runtime}; the device has ${device.runtime}` }
  const runtimeOrder = compareToMinimum(device.runtimeVersion, compat.runtime_min_version)
  if (runtimeOrder === undefined || runtimeOrder < 0) {
    return { ok: false, reason: `needs ${compat.runtime} ${compat.runtime_min_version} or newer; the device has ${device.runtimeVersion}` }
  }
  if (device.opsetMax < compat.opset_max) return { ok: false, reason: `uses opset ${compat.opset_max}; the device supports up to ${device.opsetMax}` }
  if (!compat.execution_providers.some((provider) => device.executionProviders.includes(provider))) {
    return { ok: false, reason: `runs on ${compat.execution_providers.join(', ')}; the device has ${device.executionProviders.join(', ') || 'none'}` }
  }
  if (compat.hardware !== undefined && !compat.hardware.includes(device.arch)) {
    return { ok: false, reason: `is built for ${compat.hardware.join(', ')}; the device is ${device.arch}` }
  }
  if (compat.agent_min_version !== undefined) {
    const agentOrder = compareToMinimum(device.agentVersion, compat.agent_min_version)
    if (agentOrder === undefined || agentOrder < 0) return { ok: false, reason: `needs agent ${compat.agent_min_version} or newer; the device runs ${device.agentVersion}` }
  }
  return { ok: true }
}

export interface VerifiedRelease {
  manifest: ReleaseManifest
  /** Hex SHA-256 of the payload bytes: the release's content address. */
  manifestSha256: string
  signatures: ThresholdResult
}

export type ReleaseResult = ({ verdict: 'accept' } & VerifiedRelease) | TrustRejection

interface ReleaseCheckOptions {
  /** When set, the payload's SHA-256 must equal it (the directive's pin); checked before any signature. */
  expectedSha256?: string
}

/** Size, envelope, optional digest pin, release threshold, schema, expiry: everything a manifest needs on its own. */
export function verifyReleaseManifest(
  root: RootMetadata,
  manifestEnvelope: Uint8Array,
  context: TrustContext,
  options: ReleaseCheckOptions = {},
): ReleaseResult {
  const decoded = decodeEnvelope(manifestEnvelope, 'release', 'release')
  if (decoded.verdict === 'reject') return decoded
  const manifestSha256 = encodeHex(context.sha256(decoded.envelope.payloadBytes))
  if (options.expectedSha256 !== undefined && manifestSha256 !== options.expectedSha256) {
    return reject('release', 'hash-mismatch', `The manifest's SHA-256 is ${manifestSha256.slice(0, 12)}…, the directive names ${options.expectedSha256.slice(0, 12)}…`)
  }
  const keys = roleKeys(context.sha256, root, 'release', 'release')
  if (isRejection(keys)) return keys
  const signatures = checkThreshold(decoded.envelope, keys)
  if (!signatures.isMet) return thresholdRejection('release', 'release manifest', keys, signatures)
  const parsed = parsePayload(ReleaseManifest, decoded.envelope.payloadBytes, 'release', 'release manifest')
  if (parsed.verdict === 'reject') return parsed
  const manifest = parsed.value
  if (instantMs(manifest.expires) <= context.nowMs) {
    return reject('release', 'metadata-expired', `Release ${manifest.model_id} #${manifest.release_counter} expired at ${manifest.expires}; release signers must re-sign it`)
  }
  return { verdict: 'accept', manifest, manifestSha256, signatures }
}

export type ReleaseForDirectiveResult = ({ verdict: 'accept'; trustedTimeMs: number } & VerifiedRelease) | TrustRejection

/** The device-side checks that tie a manifest to the directive naming it and to the device's counters. */
export function verifyReleaseForDirective(
  state: DeviceTrustState,
  directive: DirectiveMetadata,
  manifestEnvelope: Uint8Array,
  device: DeviceCapabilities,
  context: TrustContext,
): ReleaseForDirectiveResult {
  const ref = directive.release
  if (directive.action === 'noop' || ref === null) return reject('release', 'missing-input', 'A noop directive names no release')
  const nowMs = effectiveNowMs(state, context.nowMs)
  const verified = verifyReleaseManifest(state.root, manifestEnvelope, { nowMs, sha256: context.sha256 }, { expectedSha256: ref.manifest_sha256 })
  if (verified.verdict === 'reject') return verified
  const { manifest, manifestSha256 } = verified
  if (manifest.model_id !== ref.model_id || manifest.release_counter !== ref.release_counter) {
    return reject(
      'release',
      'mix-and-match',
      `The directive names ${ref.model_id} #${ref.release_counter} but its manifest is ${manifest.model_id} #${manifest.release_counter}`,
    )
  }
  const floor = floorOf(state, manifest.model_id)
  if (floor !== undefined && manifest.release_counter < floor.minReleaseCounter) {
    return reject('release', 'below-floor', `Release #${manifest.release_counter} of ${manifest.model_id} is below the security floor #${floor.minReleaseCounter}`)
  }
  const compat = checkCompat(manifest.compat, device)
  if (!compat.ok) return reject('release', 'incompatible', `Release ${manifest.model_id} #${manifest.release_counter} ${compat.reason}`)
  const installed = installedOf(state, manifest.model_id)
  if (directive.action === 'install' && installed !== undefined && manifest.release_counter <= installed.releaseCounter) {
    return reject(
      'release',
      'rollback-detected',
      `Install of ${manifest.model_id} #${manifest.release_counter} is not newer than the installed #${installed.releaseCounter}; going back needs a signed rollback directive`,
    )
  }
  if (directive.action === 'rollback' && (installed === undefined || manifest.release_counter >= installed.releaseCounter)) {
    return reject(
      'release',
      'not-a-rollback',
      `Rollback to ${manifest.model_id} #${manifest.release_counter} is not older than the installed ${installed === undefined ? 'nothing' : `#${installed.releaseCounter}`}`,
    )
  }
  if (state.badReleases.includes(manifestSha256) && !directive.retry) {
    return reject('release', 'bad-release', `Release ${manifest.model_id} #${manifest.release_counter} failed its health check here before; a directive with retry is needed`)
  }
  return { ...verified, trustedTimeMs: Math.max(nowMs, instantMs(manifest.issued)) }
}

const roleForType: Readonly<Record<EnvelopeType, RoleName | undefined>> = {
  root: 'root',
  release: 'release',
  floor: 'release',
  directive: 'director',
  heartbeat: 'director',
  report: undefined,
}

export interface SignatureSummary {
  type: EnvelopeType
  role: RoleName
  payloadSha256: string
  signatures: ThresholdResult
}

/**
 * Who signed an envelope and whether the role's threshold is met, without judging anything else: for the UI's
 * release list and for `outpost release sign` progress. Never use this to decide whether to act on metadata.
 */
export function describeSignatures(sha256: Sha256, root: RootMetadata, envelopeBytes: Uint8Array, type: EnvelopeType): ({ verdict: 'accept' } & SignatureSummary) | TrustRejection {
  const role = roleForType[type]
  if (role === undefined) return reject('release', 'wrong-type', `${type} envelopes are signed by device keys, not a root role`)
  const decoded = decodeEnvelope(envelopeBytes, type, 'release')
  if (decoded.verdict === 'reject') return decoded
  const keys = roleKeys(sha256, root, role, 'release')
  if (isRejection(keys)) return keys
  return { verdict: 'accept', type, role, payloadSha256: payloadDigest(sha256, decoded.envelope), signatures: checkThreshold(decoded.envelope, keys) }
}

export function payloadDigest(sha256: Sha256, envelope: DecodedEnvelope): string {
  return encodeHex(sha256(envelope.payloadBytes))
}

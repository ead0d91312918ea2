/**
 * Root metadata: validation, the initial trusted root, and the rotation chain (anchors-security.md §10.1, §10.6
 * step 2; TUF spec §5.3). Version N+1 must meet the threshold of N's root keys and of its own; versions go up by
 * exactly one; at most MAX_ROOT_STEPS_PER_SYNC steps per sync; the final root must be unexpired.
 */
import { assert } from '../errors.ts'
import { DeviceId } from '../domain/ids.ts'
import { decodeHex, type Sha256 } from './bytes.ts'
import { checkPublicKey, keyIdOf } from './ed25519.ts'
import { checkThreshold, decodeEnvelope, thresholdRejection, type TrustedRoleKeys } from './envelope.ts'
import { instantMs, parsePayload, RootMetadata, roleNames, type RoleName } from './metadata.ts'
import { effectiveNowMs, type DeviceTrustState } from './deviceTrustState.ts'
import { isRejection, reject, type TrustRejection, type TrustStage } from './trustErrors.ts'

/** Roots change rarely; more steps than this wait for the next sync (python-tuf allows 256). */
export const MAX_ROOT_STEPS_PER_SYNC = 32
const MAX_ROOT_KEYS = 64

export interface TrustContext {
  /** The device's clock, ms since the epoch. Verification uses max(clock, trusted time). */
  nowMs: number
  sha256: Sha256
}

/** The keys of one role with keyids recomputed from the keys and every key checked (§10.2). */
export function roleKeys(sha256: Sha256, root: RootMetadata, role: RoleName, stage: TrustStage): TrustedRoleKeys | TrustRejection {
  const spec = root.roles[role]
  const keys = new Map<string, Uint8Array>()
  for (const keyid of spec.keyids) {
    if (!Object.hasOwn(root.keys, keyid)) return reject(stage, 'root-invalid', `The ${role} role lists keyid ${keyid.slice(0, 16)}…, which the root does not define`)
    const entry = root.keys[keyid]
    const publicKey = entry === undefined ? undefined : decodeHex(entry.public)
    if (publicKey === undefined) return reject(stage, 'key-invalid', `Key ${keyid.slice(0, 16)}… is not hex`)
    const check = checkPublicKey(publicKey)
    if (!check.ok) return reject(stage, 'key-invalid', `Key ${keyid.slice(0, 16)}… of the ${role} role is not a usable Ed25519 key (${check.problem})`)
    if (keyIdOf(sha256, publicKey) !== keyid) return reject(stage, 'keyid-mismatch', `Keyid ${keyid.slice(0, 16)}… is not the SHA-256 of the key listed under it`)
    keys.set(keyid, publicKey)
  }
  return { role, threshold: spec.threshold, keys }
}

/** Structural rules beyond the schema: every key valid and named by its own hash, roles consistent, keys unshared. */
export function validateRoot(sha256: Sha256, root: RootMetadata, stage: TrustStage): { verdict: 'accept' } | TrustRejection {
  const keyids = Object.keys(root.keys)
  if (keyids.length > MAX_ROOT_KEYS) return reject(stage, 'root-invalid', `The root lists ${keyids.length} keys; at most ${MAX_ROOT_KEYS} are allowed`)
  for (const keyid of keyids) {
    const publicKey = decodeHex(root.keys[keyid]?.public ?? '')
    if (publicKey === undefined) return reject(stage, 'key-invalid', `Key ${keyid.slice(0, 16)}… is not hex`)
    const check = checkPublicKey(publicKey)
    if (!check.ok) return reject(stage, 'key-invalid', `Key ${keyid.slice(0, 16)}… is not a usable Ed25519 key (${check.problem})`)
    if (keyIdOf(sha256, publicKey) !== keyid) return reject(stage, 'keyid-mismatch', `Keyid ${keyid.slice(0, 16)}… is not the SHA-256 of the key listed under it`)
  }
  const owner = new Map<string, RoleName>()
  for (const role of roleNames) {
    const spec = root.roles[role]
    if (new Set(spec.keyids).size !== spec.keyids.length) return reject(stage, 'root-invalid', `The ${role} role lists a keyid twice`)
    if (spec.threshold > spec.keyids.length) {
      return reject(stage, 'root-invalid', `The ${role} role needs ${spec.threshold} signatures but lists only ${spec.keyids.length} keys`)
    }
    for (const keyid of spec.keyids) {
      const previous = owner.get(keyid)
      if (previous !== undefined) return reject(stage, 'root-invalid', `Key ${keyid.slice(0, 16)}… belongs to both the ${previous} and the ${role} role; every key serves one role`)
      owner.set(keyid, role)
    }
    const keys = roleKeys(sha256, root, role, stage)
    if (isRejection(keys)) return keys
  }
  return { verdict: 'accept' }
}

export type CreateStateResult = { verdict: 'accept'; newState: DeviceTrustState } | TrustRejection

/**
 * The device's first trusted root, delivered out of band (enrollment). It must meet its own root threshold; its
 * expiry is checked at the first update, as in TUF, so an old image can still rotate forward.
 */
export function createDeviceTrustState(deviceId: string, rootEnvelope: Uint8Array, context: TrustContext): CreateStateResult {
  assert(DeviceId.safeParse(deviceId).success, `createDeviceTrustState needs a valid device id, got ${JSON.stringify(deviceId)}`)
  if (rootEnvelope.length === 0) return reject('root', 'root-missing', 'No trusted root was supplied; enroll the device with the fleet root.json')
  const decoded = decodeEnvelope(rootEnvelope, 'root', 'root')
  if (decoded.verdict === 'reject') return decoded
  // The initial root is trusted out of band, so its payload is read before its keys can be known.
  const parsed = parsePayload(RootMetadata, decoded.envelope.payloadBytes, 'root', 'trusted root')
  if (parsed.verdict === 'reject') return parsed
  const root = parsed.value
  const valid = validateRoot(context.sha256, root, 'root')
  if (valid.verdict === 'reject') return valid
  const keys = roleKeys(context.sha256, root, 'root', 'root')
  if (isRejection(keys)) return keys
  const threshold = checkThreshold(decoded.envelope, keys)
  if (!threshold.isMet) return thresholdRejection('root', `trusted root version ${root.version}`, keys, threshold)
  return {
    verdict: 'accept',
    newState: {
      deviceId,
      root,
      directorSeq: 0,
      trustedTimeMs: context.nowMs,
      floors: {},
      installed: {},
      active: null,
      badReleases: [],
      lastHeartbeatIssuedMs: null,
      lastFreshAtMs: context.nowMs,
    },
  }
}

export type RootUpdateResult =
  | {
      verdict: 'accept'
      newState: DeviceTrustState
      stepsApplied: number
      /** More roots were offered than one sync applies; the rest wait for the next sync. */
      isUpdatePending: boolean
      /** The director keys changed, so director_seq was reset (fast-forward recovery, §10.4). */
      wasDirectorSeqReset: boolean
    }
  | TrustRejection

function sameKeyids(left: readonly string[], right: readonly string[]): boolean {
  const leftSet = new Set(left)
  return leftSet.size === new Set(right).size && right.every((keyid) => leftSet.has(keyid))
}

/** Applies N+1, N+2, … in order. Nothing is kept when any step fails; the final root must be unexpired. */
export function updateRootChain(state: DeviceTrustState, rootEnvelopes: readonly Uint8Array[], context: TrustContext): RootUpdateResult {
  const nowMs = effectiveNowMs(state, context.nowMs)
  let root = state.root
  let directorSeq = state.directorSeq
  let wasDirectorSeqReset = false
  const steps = rootEnvelopes.slice(0, MAX_ROOT_STEPS_PER_SYNC)
  for (const bytes of steps) {
    const expectedVersion = root.version + 1
    const decoded = decodeEnvelope(bytes, 'root', 'root')
    if (decoded.verdict === 'reject') return decoded
    const oldKeys = roleKeys(context.sha256, root, 'root', 'root')
    if (isRejection(oldKeys)) return oldKeys
    const byOld = checkThreshold(decoded.envelope, oldKeys)
    if (!byOld.isMet) return thresholdRejection('root', `new root (expected version ${expectedVersion}) under the keys of version ${root.version}`, oldKeys, byOld)
    const parsed = parsePayload(RootMetadata, decoded.envelope.payloadBytes, 'root', `root version ${expectedVersion}`)
    if (parsed.verdict === 'reject') return parsed
    const next = parsed.value
    if (next.version < expectedVersion) {
      return reject('root', 'rollback-detected', `Offered root version ${next.version}, but version ${root.version} is already trusted`)
    }
    if (next.version > expectedVersion) {
      return reject('root', 'root-version-skip', `Offered root version ${next.version}; roots rotate one version at a time and ${expectedVersion} comes next`)
    }
    const valid = validateRoot(context.sha256, next, 'root')
    if (valid.verdict === 'reject') return valid
    const newKeys = roleKeys(context.sha256, next, 'root', 'root')
    if (isRejection(newKeys)) return newKeys
    const byNew = checkThreshold(decoded.envelope, newKeys)
    if (!byNew.isMet) return thresholdRejection('root', `root version ${next.version} under its own keys`, newKeys, byNew)
    if (!sameKeyids(root.roles.director.keyids, next.roles.director.keyids)) {
      directorSeq = 0
      wasDirectorSeqReset = true
    }
    root = next
  }
  if (instantMs(root.expires) <= nowMs) {
    return reject('root', 'metadata-expired', `Root version ${root.version} expired at ${root.expires}; a newer root is needed`)
  }
  return {
    verdict: 'accept',
    newState: { ...state, root, directorSeq, trustedTimeMs: nowMs },
    stepsApplied: steps.length,
    isUpdatePending: rootEnvelopes.length > steps.length,
    wasDirectorSeqReset,
  }
}

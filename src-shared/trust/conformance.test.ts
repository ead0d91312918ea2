/**
 * Trust-metadata conformance suite (anchors-security.md §11.1), modelled on python-tuf, go-tuf, tough and
 * tuf-conformance: an in-memory repository simulator, one mutation per case. Every rejection case asserts the
 * exact TrustErrorCode, that no new state is returned, and that the (deep-frozen) input state is unchanged.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { decodeBase64, decodeHex, encodeBase64, encodeHex, encodeUtf8 } from './bytes.ts'
import { encodePayload } from './buildMetadata.ts'
import { recordBadRelease, recordCommitted, checkFreshness, FREEZE_SUSPECTED_AFTER_MS, type DeviceTrustState } from './deviceTrustState.ts'
import { encodeEnvelope, type Envelope } from './envelope.ts'
import type { ReleaseManifest, RootMetadata } from './metadata.ts'
import { createRepositorySimulator, defaultRoles, type RootLayout } from './testing/repositorySimulator.ts'
import type { TrustErrorCode, TrustRejection } from './trustErrors.ts'
import { verifyChunk, verifyChunkList, verifyFileBytes } from './verifyArtifact.ts'
import { verifyHeartbeat } from './verifyHeartbeat.ts'
import { verifyReleaseManifest } from './verifyRelease.ts'
import { verifyReport } from './verifyReport.ts'
import { createDeviceTrustState, MAX_ROOT_STEPS_PER_SYNC, updateRootChain } from './verifyRoot.ts'
import { applyFloorRecords } from './verifyFloor.ts'
import { verifyUpdate, type UpdateInputs } from './verifyUpdate.ts'

const NOW = Date.parse('2026-06-01T12:00:00.000Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR
const context = { nowMs: NOW, sha256 }

const sim = createRepositorySimulator({ sha256, nowMs: NOW, sign: (secretKey, message) => ed25519.sign(message, secretKey.subarray(0, 32)) })
const ROOT_SIGNERS = ['root-1', 'root-2', 'root-3']
const RELEASE_SIGNERS = ['release-1', 'release-2']
const DIRECTOR = ['director-1']

// ------------------------------------------------------------------------------------------------ fixtures

function rootBytes(layout: RootLayout, signers: readonly string[] = ROOT_SIGNERS): Uint8Array {
  return sim.signed('root', sim.root(layout), signers)
}

function enrolled(): DeviceTrustState {
  const created = createDeviceTrustState(sim.deviceId, rootBytes({ version: 1 }), context)
  if (created.verdict === 'reject') throw new Error(`baseline root rejected: ${created.reason}`)
  return created.newState
}

const release = (overrides: Partial<ReleaseManifest> = {}): ReleaseManifest => sim.release(overrides)
const shaOf = (counter: number): string => sim.manifestSha256(release({ release_counter: counter }))

/** A device that committed release `counter` of vad and accepted directives up to seq 5. */
function installed(counter: number): DeviceTrustState {
  return recordCommitted({ ...enrolled(), directorSeq: 5 }, { modelId: 'vad', releaseCounter: counter, manifestSha256: shaOf(counter) })
}

const manifestBytes = (manifest: ReleaseManifest = release(), signers: readonly string[] = RELEASE_SIGNERS): Uint8Array =>
  sim.signed('release', manifest, signers)

function directiveBytes(overrides: Parameters<typeof sim.directive>[0] = {}, manifest: ReleaseManifest = release(), signers: readonly string[] = DIRECTOR): Uint8Array {
  return sim.signed('directive', sim.directive(overrides, manifest), signers)
}

/** Directive fields for a device that runs release `counter`. */
const onTopOf = (counter: number) => ({ seq: 6, expect_current: { manifest_sha256: shaOf(counter) } })

function inputs(partial: Partial<UpdateInputs> = {}): UpdateInputs {
  return { directive: directiveBytes(), manifest: manifestBytes(), device: sim.device, ...partial }
}

function mutateEnvelope(bytes: Uint8Array, change: (envelope: Envelope) => void): Uint8Array {
  const envelope = JSON.parse(new TextDecoder().decode(bytes)) as Envelope
  change(envelope)
  return encodeEnvelope(envelope)
}

function mutatePayload(bytes: Uint8Array, change: (payload: Record<string, unknown>) => void): Uint8Array {
  return mutateEnvelope(bytes, (envelope) => {
    const payload = JSON.parse(new TextDecoder().decode(decodeBase64(envelope.payload))) as Record<string, unknown>
    change(payload)
    envelope.payload = encodeBase64(encodePayload(payload))
  })
}

/** A root payload mutated after it is built, then signed. */
function customRootBytes(layout: RootLayout, change: (root: RootMetadata) => void, signers: readonly string[] = ROOT_SIGNERS): Uint8Array {
  const root = structuredClone(sim.root(layout))
  change(root)
  return sim.signed('root', root, signers)
}

const SMALL_ORDER_KEY = '0100000000000000000000000000000000000000000000000000000000000000'

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

function snapshot(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (item instanceof Uint8Array ? encodeHex(item) : item))
}

// ------------------------------------------------------------------------------------------- rejection cases

interface Arranged<S> {
  /** The trusted state (or other input the verifier must not change); deep-frozen before the call. */
  state: S
  act: (state: S) => { verdict: 'accept' } | TrustRejection
}

interface ConformanceCase {
  name: string
  code: TrustErrorCode
  arrange: () => Arranged<unknown>
}

function onState(state: DeviceTrustState, act: (state: DeviceTrustState) => { verdict: 'accept' } | TrustRejection): Arranged<unknown> {
  return { state, act: act as Arranged<unknown>['act'] }
}

const updateWith = (state: DeviceTrustState, partial: Partial<UpdateInputs>) => onState(state, (frozen) => verifyUpdate(frozen, inputs(partial), context))
const enrollWith = (bytes: Uint8Array): Arranged<unknown> => ({ state: null, act: () => createDeviceTrustState(sim.deviceId, bytes, context) })

const rotate = (roots: readonly Uint8Array[], state: DeviceTrustState = enrolled()) =>
  onState(state, (frozen) => updateRootChain(frozen, roots, context))

const newRootKeys = { root: { keys: ['root-6', 'root-7', 'root-8', 'root-9', 'root-10'], threshold: 3 } }

function badFileNameManifest(name: string): Uint8Array {
  const manifest = release()
  const [model, ...rest] = manifest.files
  if (model === undefined) throw new Error('fixture has files')
  return manifestBytes({ ...manifest, files: [{ ...model, name }, ...rest], compat: { ...manifest.compat, variants: [] } })
}

function pathCase(label: string, name: string): ConformanceCase {
  return {
    name: `release: file name ${label} is refused`,
    code: 'path-unsafe',
    arrange: () => {
      const bytes = badFileNameManifest(name)
      return updateWith(enrolled(), { manifest: bytes, directive: directiveBytes({ release: { model_id: 'vad', release_counter: 5, manifest_sha256: sim.digest(decodeBase64((JSON.parse(new TextDecoder().decode(bytes)) as { payload: string }).payload) ?? new Uint8Array()) } }) })
    },
  }
}

/** Directive + manifest for a mutated manifest, pinned correctly so only the mutation can fail. */
function pinned(manifest: ReleaseManifest, directiveOverrides: Parameters<typeof sim.directive>[0] = {}): Partial<UpdateInputs> {
  return { manifest: manifestBytes(manifest), directive: directiveBytes(directiveOverrides, manifest) }
}

const modelFile = sim.files.model.file
const modelBytes = sim.files.model.bytes
const chunkListBytes = sim.files.model.chunkListBytes ?? new Uint8Array()
const chunkHashes = (() => {
  const listed = verifyChunkList(sha256, modelFile, chunkListBytes)
  if (listed.verdict === 'reject') throw new Error(listed.reason)
  return listed.chunkHashes
})()
const chunk = (index: number): Uint8Array => modelBytes.slice(index * 16384, (index + 1) * 16384)

const cases: ConformanceCase[] = [
  // ---- trusted root (enrollment) ----
  { name: 'root: trusted root missing', code: 'root-missing', arrange: () => enrollWith(new Uint8Array()) },
  { name: 'root: trusted root unsigned', code: 'threshold-not-met', arrange: () => enrollWith(rootBytes({ version: 1 }, [])) },
  { name: 'root: trusted root below its threshold (2 of 3)', code: 'threshold-not-met', arrange: () => enrollWith(rootBytes({ version: 1 }, ['root-1', 'root-2'])) },
  {
    name: 'root: trusted root with a corrupted signature below threshold',
    code: 'signature-invalid',
    arrange: () =>
      enrollWith(
        mutateEnvelope(rootBytes({ version: 1 }), (envelope) => {
          const first = envelope.signatures[0]
          if (first !== undefined) first.sig = `${first.sig.slice(0, -2)}${first.sig.endsWith('00') ? '01' : '00'}`
        }),
      ),
  },
  {
    name: 'root: a key shared by two roles',
    code: 'root-invalid',
    arrange: () => enrollWith(rootBytes({ version: 1, roles: { director: { keys: ['release-1'], threshold: 1 } } })),
  },
  {
    name: 'root: threshold larger than the role',
    code: 'root-invalid',
    arrange: () => enrollWith(rootBytes({ version: 1, roles: { release: { keys: ['release-1', 'release-2'], threshold: 3 } } })),
  },
  {
    name: 'root: keyid that is not the hash of its key',
    code: 'keyid-mismatch',
    arrange: () =>
      enrollWith(
        customRootBytes({ version: 1 }, (root) => {
          const releaseKeyid = sim.keyid('release-3')
          const entry = root.keys[releaseKeyid]
          if (entry !== undefined) entry.public = encodeHex(sim.key('release-1').publicKey)
        }),
      ),
  },
  {
    name: 'root: small-order (identity) key listed',
    code: 'key-invalid',
    arrange: () =>
      enrollWith(
        customRootBytes({ version: 1 }, (root) => {
          const keyid = encodeHex(sha256(decodeHex(SMALL_ORDER_KEY) ?? new Uint8Array()))
          root.keys[keyid] = { scheme: 'ed25519', public: SMALL_ORDER_KEY }
          root.roles.director.keyids = [keyid]
        }),
      ),
  },
  {
    name: 'root: role names a keyid the root does not define',
    code: 'root-invalid',
    arrange: () => enrollWith(customRootBytes({ version: 1 }, (root) => root.roles.director.keyids.push('ab'.repeat(32)))),
  },
  { name: 'root: not JSON', code: 'malformed', arrange: () => enrollWith(encodeUtf8('{"type":"root",')) },
  { name: 'root: oversized', code: 'oversized', arrange: () => enrollWith(new Uint8Array(64 * 1024 + 1).fill(32)) },
  { name: 'root: a release envelope offered as root', code: 'wrong-type', arrange: () => enrollWith(manifestBytes()) },

  // ---- root rotation ----
  { name: 'root: trusted root expired and no newer one (freeze)', code: 'metadata-expired', arrange: () => rotate([], { ...enrolled(), trustedTimeMs: NOW + 400 * DAY }) },
  { name: 'root: new root with the same version', code: 'rollback-detected', arrange: () => rotate([rootBytes({ version: 1 })]) },
  {
    name: 'root: an older root replayed after rotation',
    code: 'rollback-detected',
    arrange: () => {
      const rotated = updateRootChain(enrolled(), [rootBytes({ version: 2 })], context)
      if (rotated.verdict === 'reject') throw new Error(rotated.reason)
      return rotate([rootBytes({ version: 1 })], rotated.newState)
    },
  },
  { name: 'root: non-consecutive version (1 → 3)', code: 'root-version-skip', arrange: () => rotate([rootBytes({ version: 3 })]) },
  {
    name: 'root: rotation signed only by the new keys (old threshold missing)',
    code: 'threshold-not-met',
    arrange: () => rotate([rootBytes({ version: 2, roles: newRootKeys }, ['root-6', 'root-7', 'root-8'])]),
  },
  {
    name: 'root: rotation signed only by the old keys (new threshold missing)',
    code: 'threshold-not-met',
    arrange: () => rotate([rootBytes({ version: 2, roles: newRootKeys }, ROOT_SIGNERS)]),
  },
  {
    name: 'root: 3-of-5 rotation with 2 old + 3 new signatures',
    code: 'threshold-not-met',
    arrange: () => rotate([rootBytes({ version: 2, roles: newRootKeys }, ['root-1', 'root-2', 'root-6', 'root-7', 'root-8'])]),
  },
  {
    name: 'root: new root signed by 3 old keys but only 2 of its own',
    code: 'threshold-not-met',
    arrange: () =>
      rotate([rootBytes({ version: 2, roles: { root: { keys: ['root-1', 'root-2', 'root-6', 'root-7', 'root-8'], threshold: 3 } } }, ['root-1', 'root-2', 'root-3'])]),
  },
  {
    name: 'root: threshold 1 → 2 signed by one key',
    code: 'threshold-not-met',
    arrange: () => {
      const oneOfOne = { root: { keys: ['root-1'], threshold: 1 } }
      const created = createDeviceTrustState(sim.deviceId, rootBytes({ version: 1, roles: oneOfOne }, ['root-1']), context)
      if (created.verdict === 'reject') throw new Error(created.reason)
      return rotate([rootBytes({ version: 2, roles: { root: { keys: ['root-1', 'root-2'], threshold: 2 } } }, ['root-1'])], created.newState)
    },
  },
  {
    name: 'root: threshold 2 → 1 signed by one old key',
    code: 'threshold-not-met',
    arrange: () => {
      const twoOfTwo = { root: { keys: ['root-1', 'root-2'], threshold: 2 } }
      const created = createDeviceTrustState(sim.deviceId, rootBytes({ version: 1, roles: twoOfTwo }, ['root-1', 'root-2']), context)
      if (created.verdict === 'reject') throw new Error(created.reason)
      return rotate([rootBytes({ version: 2, roles: { root: { keys: ['root-1'], threshold: 1 } } }, ['root-1'])], created.newState)
    },
  },
  {
    name: 'root: intermediate root incorrectly signed',
    code: 'threshold-not-met',
    arrange: () => rotate([rootBytes({ version: 2 }, ['root-1', 'root-2']), rootBytes({ version: 3 })]),
  },
  {
    name: 'root: final root expired',
    code: 'metadata-expired',
    arrange: () => rotate([rootBytes({ version: 2 }), rootBytes({ version: 3, expiresInMs: -HOUR })]),
  },
  {
    name: 'root: new root with a corrupted old-key signature below threshold',
    code: 'signature-invalid',
    arrange: () =>
      rotate([
        mutateEnvelope(rootBytes({ version: 2 }), (envelope) => {
          const last = envelope.signatures[2]
          if (last !== undefined) last.sig = '00'.repeat(64)
        }),
      ]),
  },
  {
    name: 'root: new root that shares a key between roles',
    code: 'root-invalid',
    arrange: () => rotate([rootBytes({ version: 2, roles: { release: { keys: ['release-1', 'director-1'], threshold: 1 } } })]),
  },
  {
    name: 'root: new root listing a small-order key',
    code: 'key-invalid',
    arrange: () =>
      rotate([
        customRootBytes({ version: 2 }, (root) => {
          const keyid = encodeHex(sha256(decodeHex(SMALL_ORDER_KEY) ?? new Uint8Array()))
          root.keys[keyid] = { scheme: 'ed25519', public: SMALL_ORDER_KEY }
        }),
      ]),
  },
  { name: 'root: new root oversized', code: 'oversized', arrange: () => rotate([new Uint8Array(64 * 1024 + 1).fill(32)]) },
  { name: 'root: a directive offered as the next root', code: 'wrong-type', arrange: () => rotate([directiveBytes()]) },
  {
    name: 'root: new root payload that is not JSON (validly signed)',
    code: 'malformed',
    arrange: () => rotate([sim.signed('root', encodeUtf8('version: 2'), ROOT_SIGNERS)]),
  },

  // ---- floor records ----
  {
    name: 'floor: signed by one release key of two needed',
    code: 'threshold-not-met',
    arrange: () => updateWith(enrolled(), { floors: [sim.signed('floor', sim.floor(), ['release-1'])] }),
  },
  {
    name: 'floor: signed by the director (online key cannot raise or set floors)',
    code: 'threshold-not-met',
    arrange: () => updateWith(enrolled(), { floors: [sim.signed('floor', sim.floor(), DIRECTOR)] }),
  },
  {
    name: 'floor: expired record',
    code: 'metadata-expired',
    arrange: () => updateWith(enrolled(), { floors: [sim.signed('floor', sim.floor({ issued: sim.iso(-400 * DAY), expires: sim.iso(-DAY) }), RELEASE_SIGNERS)] }),
  },
  {
    name: 'floor: older floor version replayed',
    code: 'rollback-detected',
    arrange: () => updateWith({ ...enrolled(), floors: { vad: { minReleaseCounter: 4, version: 2 } } }, { floors: [sim.signed('floor', sim.floor({ version: 1 }), RELEASE_SIGNERS)] }),
  },
  {
    name: 'floor: a newer record that would lower the floor',
    code: 'rollback-detected',
    arrange: () =>
      updateWith({ ...enrolled(), floors: { vad: { minReleaseCounter: 4, version: 1 } } }, { floors: [sim.signed('floor', sim.floor({ version: 2, min_release_counter: 2 }), RELEASE_SIGNERS)] }),
  },
  {
    name: 'floor: install below the trusted floor',
    code: 'below-floor',
    arrange: () => updateWith({ ...enrolled(), floors: { vad: { minReleaseCounter: 6, version: 1 } } }, {}),
  },
  {
    name: 'floor: install below a floor raised in the same sync',
    code: 'below-floor',
    arrange: () => updateWith(enrolled(), { floors: [sim.signed('floor', sim.floor({ min_release_counter: 6 }), RELEASE_SIGNERS)] }),
  },
  {
    name: 'floor: signed rollback below the floor',
    code: 'below-floor',
    arrange: () => {
      const state = { ...installed(7), floors: { vad: { minReleaseCounter: 6, version: 1 } } }
      return updateWith(state, pinned(release(), { ...onTopOf(7), action: 'rollback' }))
    },
  },
  {
    name: 'floor: oversized record',
    code: 'oversized',
    arrange: () => updateWith(enrolled(), { floors: [new Uint8Array(16 * 1024 + 1).fill(32)] }),
  },

  // ---- directives ----
  { name: 'directive: unsigned', code: 'threshold-not-met', arrange: () => updateWith(enrolled(), { directive: directiveBytes({}, release(), []) }) },
  {
    name: 'directive: signed by a release key instead of the director',
    code: 'threshold-not-met',
    arrange: () => updateWith(enrolled(), { directive: directiveBytes({}, release(), ['release-1']) }),
  },
  {
    name: 'directive: payload changed after signing',
    code: 'signature-invalid',
    arrange: () => updateWith(enrolled(), { directive: mutatePayload(directiveBytes(), (payload) => (payload.reason = 'changed')) }),
  },
  {
    name: 'directive: expired',
    code: 'metadata-expired',
    arrange: () => updateWith(enrolled(), { directive: directiveBytes({ issued: sim.iso(-2 * DAY), not_before: sim.iso(-2 * DAY), expires: sim.iso(-DAY) }) }),
  },
  { name: 'directive: not yet valid', code: 'not-yet-valid', arrange: () => updateWith(enrolled(), { directive: directiveBytes({ not_before: sim.iso(HOUR) }) }) },
  {
    name: 'directive: seq equal to the last accepted (replay)',
    code: 'replayed-directive',
    arrange: () => updateWith(installed(4), { directive: directiveBytes({ ...onTopOf(4), seq: 5 }) }),
  },
  {
    name: 'directive: seq lower than the last accepted',
    code: 'replayed-directive',
    arrange: () => updateWith(installed(4), { directive: directiveBytes({ ...onTopOf(4), seq: 2 }) }),
  },
  { name: 'directive: for another device', code: 'wrong-device', arrange: () => updateWith(enrolled(), { directive: directiveBytes({ device_id: 'd-2' }) }) },
  { name: 'directive: made for another root version', code: 'root-version-mismatch', arrange: () => updateWith(enrolled(), { directive: directiveBytes({ root_version: 2 }) }) },
  {
    name: 'directive: expect_current does not match the running release',
    code: 'cas-mismatch',
    arrange: () => updateWith(installed(4), { directive: directiveBytes({ seq: 6, expect_current: { manifest_sha256: shaOf(3) } }) }),
  },
  {
    name: 'directive: expects nothing installed but the device runs a release',
    code: 'cas-mismatch',
    arrange: () => updateWith(installed(4), { directive: directiveBytes({ seq: 6 }) }),
  },
  { name: 'directive: oversized', code: 'oversized', arrange: () => updateWith(enrolled(), { directive: new Uint8Array(16 * 1024 + 1).fill(32) }) },
  { name: 'directive: not an envelope', code: 'malformed', arrange: () => updateWith(enrolled(), { directive: encodeUtf8('[]') }) },
  {
    name: 'directive: payload base64 not canonical',
    code: 'malformed',
    arrange: () => updateWith(enrolled(), { directive: mutateEnvelope(directiveBytes(), (envelope) => (envelope.payload = `${envelope.payload}\n`)) }),
  },
  { name: 'directive: a release manifest offered as the directive', code: 'wrong-type', arrange: () => updateWith(enrolled(), { directive: manifestBytes() }) },
  {
    name: 'directive: a heartbeat signature relabelled as a directive',
    code: 'signature-invalid',
    arrange: () =>
      updateWith(enrolled(), {
        directive: mutateEnvelope(sim.signed('heartbeat', sim.directive(), DIRECTOR), (envelope) => (envelope.type = 'directive')),
      }),
  },
  {
    name: 'directive: seq above 2^53 − 1',
    code: 'malformed',
    arrange: () => updateWith(enrolled(), { directive: sim.signed('directive', encodeUtf8(new TextDecoder().decode(encodePayload(sim.directive())).replace('"seq":1', '"seq":9007199254740993')), DIRECTOR) }),
  },
  {
    name: 'directive: noop naming a release',
    code: 'malformed',
    arrange: () => updateWith(enrolled(), { directive: directiveBytes({ action: 'noop' }) }),
  },
  {
    name: 'directive: signed by the old director key after the root rotated it',
    code: 'threshold-not-met',
    arrange: () => {
      const rotated = updateRootChain(enrolled(), [rootBytes({ version: 2, roles: { director: { keys: ['director-2'], threshold: 1 } } })], context)
      if (rotated.verdict === 'reject') throw new Error(rotated.reason)
      return updateWith(rotated.newState, { directive: directiveBytes({ root_version: 2 }) })
    },
  },
  {
    name: 'directive: clock set back cannot revive an expired directive (trusted time never decreases)',
    code: 'metadata-expired',
    arrange: () =>
      onState({ ...enrolled(), trustedTimeMs: NOW + 2 * DAY }, (frozen) => verifyUpdate(frozen, inputs(), { ...context, nowMs: NOW - DAY })),
  },

  // ---- release manifests ----
  {
    name: 'release: manifest hash does not match the directive',
    code: 'hash-mismatch',
    arrange: () => updateWith(enrolled(), { manifest: manifestBytes(release({ version: '2.3.1' })) }),
  },
  { name: 'release: 1 of 3 signatures when 2 are needed', code: 'threshold-not-met', arrange: () => updateWith(enrolled(), { manifest: manifestBytes(release(), ['release-1']) }) },
  {
    name: 'release: duplicate signatures with one keyid count once',
    code: 'threshold-not-met',
    arrange: () =>
      updateWith(enrolled(), {
        manifest: mutateEnvelope(manifestBytes(release(), ['release-1']), (envelope) => {
          const [only] = envelope.signatures
          if (only !== undefined) envelope.signatures.push({ ...only }, { ...only })
        }),
      }),
  },
  {
    name: 'release: keyid that does not match the signing key',
    code: 'signature-invalid',
    arrange: () =>
      updateWith(enrolled(), {
        manifest: mutateEnvelope(manifestBytes(release(), ['release-1', 'release-2']), (envelope) => {
          const second = envelope.signatures[1]
          if (second !== undefined) second.keyid = sim.keyid('release-3')
          const first = envelope.signatures[0]
          if (first !== undefined) envelope.signatures[0] = { ...first }
        }),
      }),
  },
  {
    name: 'release: manifest expired',
    code: 'metadata-expired',
    arrange: () => updateWith(enrolled(), pinned(release({ issued: sim.iso(-200 * DAY), expires: sim.iso(-DAY) }))),
  },
  {
    name: 'release: mix-and-match (directive counter differs from the manifest it pins)',
    code: 'mix-and-match',
    arrange: () => updateWith(enrolled(), { directive: directiveBytes({ release: { model_id: 'vad', release_counter: 6, manifest_sha256: shaOf(5) } }) }),
  },
  {
    name: 'release: mix-and-match (directive model differs from the manifest it pins)',
    code: 'mix-and-match',
    arrange: () => updateWith(enrolled(), { directive: directiveBytes({ release: { model_id: 'kws', release_counter: 5, manifest_sha256: shaOf(5) } }) }),
  },
  { name: 'release: install with counter equal to the installed one', code: 'rollback-detected', arrange: () => updateWith(installed(5), pinned(release(), onTopOf(5))) },
  { name: 'release: install with a lower counter (downgrade without rollback)', code: 'rollback-detected', arrange: () => updateWith(installed(7), pinned(release(), onTopOf(7))) },
  {
    name: 'release: rollback to a counter not below the installed one',
    code: 'not-a-rollback',
    arrange: () => updateWith(installed(4), pinned(release(), { ...onTopOf(4), action: 'rollback' })),
  },
  { name: 'release: rollback with nothing installed', code: 'not-a-rollback', arrange: () => updateWith(enrolled(), pinned(release(), { action: 'rollback' })) },
  {
    name: 'release: a release marked bad, without retry',
    code: 'bad-release',
    arrange: () => updateWith(recordBadRelease(installed(4), shaOf(5)), pinned(release(), onTopOf(4))),
  },
  {
    name: 'release: wrong hardware',
    code: 'incompatible',
    arrange: () => updateWith(enrolled(), pinned(release({ compat: { ...release().compat, hardware: ['arm64'] } }))),
  },
  {
    name: 'release: agent too old',
    code: 'incompatible',
    arrange: () => updateWith(enrolled(), pinned(release({ compat: { ...release().compat, agent_min_version: '1.4.0' } }))),
  },
  { name: 'release: opset too high', code: 'incompatible', arrange: () => updateWith(enrolled(), pinned(release({ compat: { ...release().compat, opset_max: 22 } }))) },
  {
    name: 'release: no execution provider in common',
    code: 'incompatible',
    arrange: () =>
      updateWith(enrolled(), pinned(release({ compat: { ...release().compat, execution_providers: ['cuda'], variants: [{ name: 'fp16', file: 'model.onnx', execution_provider: 'cuda' }] } }))),
  },
  pathCase('"../x" (traversal)', '../x'),
  pathCase('"/abs" (absolute)', '/abs'),
  pathCase('"a\\\\b" (backslash)', 'a\\b'),
  pathCase('with NUL', 'model\u0000.onnx'),
  pathCase('".hidden" (leading dot)', '.hidden'),
  pathCase('of 65 characters', 'm'.repeat(65)),
  pathCase('with a Cyrillic look-alike letter', 'm\u043edel.onnx'),
  pathCase('"a..b" (dot-dot inside)', 'a..b'),
  {
    name: 'release: file length above 2^53 − 1',
    code: 'malformed',
    arrange: () => {
      const text = new TextDecoder().decode(encodePayload(release())).replace('"length":70000', '"length":9007199254740993')
      const bytes = encodeUtf8(text)
      return updateWith(enrolled(), { manifest: sim.signed('release', bytes, RELEASE_SIGNERS), directive: directiveBytes({ release: { model_id: 'vad', release_counter: 5, manifest_sha256: sim.digest(bytes) } }) })
    },
  },
  {
    name: 'release: unknown field changed after signing',
    code: 'signature-invalid',
    arrange: () => {
      const original = encodePayload({ ...release(), x_vendor: 'a' })
      const changed = encodePayload({ ...release(), x_vendor: 'b' })
      const bytes = mutateEnvelope(sim.signed('release', original, RELEASE_SIGNERS), (envelope) => (envelope.payload = encodeBase64(changed)))
      return updateWith(enrolled(), { manifest: bytes, directive: directiveBytes({ release: { model_id: 'vad', release_counter: 5, manifest_sha256: sim.digest(changed) } }) })
    },
  },
  { name: 'release: a directive offered as the manifest', code: 'wrong-type', arrange: () => updateWith(enrolled(), { manifest: directiveBytes() }) },
  {
    name: 'release: floor-record signatures relabelled as a release',
    code: 'signature-invalid',
    arrange: () => {
      const bytes = mutateEnvelope(sim.signed('floor', release(), RELEASE_SIGNERS), (envelope) => (envelope.type = 'release'))
      return updateWith(enrolled(), { manifest: bytes })
    },
  },
  { name: 'release: oversized manifest', code: 'oversized', arrange: () => updateWith(enrolled(), { manifest: new Uint8Array(64 * 1024 + 1).fill(32) }) },
  {
    name: 'release: install directive without its manifest',
    code: 'missing-input',
    arrange: () => onState(enrolled(), (frozen) => verifyUpdate(frozen, { directive: directiveBytes(), device: sim.device }, context)),
  },
  {
    name: 'release: health check file not among the files',
    code: 'malformed',
    arrange: () => updateWith(enrolled(), pinned(release({ health: { ...release().health, golden_outputs: 'missing.bin' } }))),
  },
  {
    name: 'release: the same file name listed twice',
    code: 'malformed',
    arrange: () => updateWith(enrolled(), pinned(release({ files: [...release().files, modelFile] }))),
  },

  // ---- heartbeats and freshness ----
  {
    name: 'heartbeat: replayed',
    code: 'replayed-heartbeat',
    arrange: () => onState({ ...enrolled(), lastHeartbeatIssuedMs: NOW - 60_000 }, (frozen) => verifyHeartbeat(frozen, sim.signed('heartbeat', sim.heartbeat(), DIRECTOR), context)),
  },
  {
    name: 'heartbeat: for another device',
    code: 'wrong-device',
    arrange: () => onState(enrolled(), (frozen) => verifyHeartbeat(frozen, sim.signed('heartbeat', sim.heartbeat({ device_id: 'd-9' }), DIRECTOR), context)),
  },
  {
    name: 'heartbeat: expired',
    code: 'metadata-expired',
    arrange: () =>
      onState(enrolled(), (frozen) => verifyHeartbeat(frozen, sim.signed('heartbeat', sim.heartbeat({ issued: sim.iso(-2 * DAY), expires: sim.iso(-DAY) }), DIRECTOR), context)),
  },
  {
    name: 'freshness: no director heartbeat for more than 48 h (freeze suspected)',
    code: 'frozen',
    arrange: () => onState(enrolled(), (frozen) => checkFreshness(frozen, NOW + FREEZE_SUSPECTED_AFTER_MS + HOUR)),
  },

  // ---- device reports (control center side) ----
  ...(() => {
    const enrolledDevice = () => ({ deviceId: sim.deviceId, publicKey: sim.key('device-d-1').publicKey, lastReportSeq: 3 })
    const reportCase = (name: string, code: TrustErrorCode, bytes: () => Uint8Array): ConformanceCase => ({
      name,
      code,
      arrange: () => ({ state: enrolledDevice(), act: (device) => verifyReport(device as ReturnType<typeof enrolledDevice>, bytes(), context) }),
    })
    return [
      reportCase('report: replayed report_seq', 'replayed-report', () => sim.signed('report', sim.report({ report_seq: 3 }), ['device-d-1'])),
      reportCase('report: signed by another device key', 'threshold-not-met', () => sim.signed('report', sim.report({ report_seq: 4 }), ['device-d-2'])),
      reportCase('report: stale trusted_time', 'stale-report', () => sim.signed('report', sim.report({ report_seq: 4, trusted_time: sim.iso(-HOUR) }), ['device-d-1'])),
      reportCase('report: names another device', 'wrong-device', () => sim.signed('report', sim.report({ report_seq: 4, device_id: 'd-2' }), ['device-d-1'])),
    ]
  })(),

  // ---- artifacts ----
  ...(() => {
    const artifactCase = (name: string, code: TrustErrorCode, act: () => { verdict: 'accept' } | TrustRejection): ConformanceCase => ({
      name,
      code,
      arrange: () => ({ state: { file: modelFile, chunkHashes: [...chunkHashes] }, act }),
    })
    const tampered = chunk(1)
    tampered[100] = (tampered[100] ?? 0) ^ 1
    const lastIndex = chunkHashes.length - 1
    return [
      artifactCase('artifact: tampered chunk', 'hash-mismatch', () => verifyChunk(sha256, modelFile, chunkHashes, 1, tampered)),
      artifactCase('artifact: truncated chunk', 'length-mismatch', () => verifyChunk(sha256, modelFile, chunkHashes, 1, chunk(1).subarray(0, 1000))),
      artifactCase('artifact: extra bytes after the last chunk', 'length-mismatch', () =>
        verifyChunk(sha256, modelFile, chunkHashes, lastIndex, new Uint8Array([...chunk(lastIndex), 0])),
      ),
      artifactCase('artifact: chunk index past the end (endless data)', 'length-mismatch', () => verifyChunk(sha256, modelFile, chunkHashes, lastIndex + 1, chunk(0))),
      artifactCase('artifact: chunks delivered in the wrong slot', 'hash-mismatch', () => verifyChunk(sha256, modelFile, chunkHashes, 0, chunk(1))),
      artifactCase('artifact: truncated file', 'length-mismatch', () => verifyFileBytes(sha256, modelFile, modelBytes.subarray(0, modelBytes.length - 1))),
      artifactCase('artifact: extra bytes after the file', 'length-mismatch', () => verifyFileBytes(sha256, modelFile, new Uint8Array([...modelBytes, 0]))),
      artifactCase('artifact: substituted file of the same length', 'hash-mismatch', () => verifyFileBytes(sha256, modelFile, modelBytes.slice().reverse())),
      artifactCase('artifact: tampered chunk list', 'hash-mismatch', () => verifyChunkList(sha256, modelFile, encodeUtf8(new TextDecoder().decode(chunkListBytes).replace('"v":1', '"v":1 ')))),
      artifactCase('artifact: chunk list of another file pinned by the manifest', 'mix-and-match', () => {
        const golden = sim.files.goldenInputs.file
        return verifyChunkList(sha256, { ...golden, chunk_size: 16384, chunk_list_sha256: modelFile.chunk_list_sha256 ?? '' }, chunkListBytes)
      }),
    ]
  })(),
]

describe('trust conformance: rejections', () => {
  it('has at least 60 uniquely named cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60)
    expect(new Set(cases.map((testCase) => testCase.name)).size).toBe(cases.length)
  })

  it.each(cases.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => {
    const { state, act } = testCase.arrange()
    const before = snapshot(state)
    deepFreeze(state)
    const result = act(state)
    expect(result.verdict).toBe('reject')
    if (result.verdict !== 'reject') return
    expect({ code: result.code, reason: result.reason }).toEqual({ code: testCase.code, reason: expect.any(String) })
    expect(result.reason.length).toBeGreaterThan(10)
    expect(result.reason).not.toContain('\n')
    expect(result).not.toHaveProperty('newState')
    expect(snapshot(state)).toBe(before)
  })
})

// ------------------------------------------------------------------------------------------- acceptance cases

function accepted<T extends { verdict: string }>(result: T | TrustRejection): Exclude<T, TrustRejection> {
  if (result.verdict === 'reject') throw new Error(`expected accept, got ${(result as TrustRejection).code}: ${(result as TrustRejection).reason}`)
  return result as Exclude<T, TrustRejection>
}

describe('trust conformance: acceptances (the controls that make the rejections meaningful)', () => {
  it('accepts the baseline install and records seq and trusted time, without mutating the input state', () => {
    const state = deepFreeze(enrolled())
    const result = accepted(verifyUpdate(state, inputs(), context))
    expect(result.newState.directorSeq).toBe(1)
    expect(result.release?.manifest.release_counter).toBe(5)
    expect(result.release?.manifestSha256).toBe(shaOf(5))
    expect(result.release?.signatures.countedKeyids).toEqual([sim.keyid('release-1'), sim.keyid('release-2')].sort())
    expect(result.newState.trustedTimeMs).toBe(NOW)
    expect(state.directorSeq).toBe(0)
  })

  it('accepts a valid root rotation with all root keys replaced, signed by old and new thresholds', () => {
    const bytes = rootBytes({ version: 2, roles: newRootKeys }, ['root-1', 'root-2', 'root-3', 'root-6', 'root-7', 'root-8'])
    const result = accepted(updateRootChain(enrolled(), [bytes], context))
    expect(result.newState.root.version).toBe(2)
    expect(result.wasDirectorSeqReset).toBe(false)
  })

  it('accepts rotations 1-of-1 → 1-of-2 and 3-of-5 with only one key changed', () => {
    const oneOfOne = createDeviceTrustState(sim.deviceId, rootBytes({ version: 1, roles: { root: { keys: ['root-1'], threshold: 1 } } }, ['root-1']), context)
    const start = accepted(oneOfOne).newState
    accepted(updateRootChain(start, [rootBytes({ version: 2, roles: { root: { keys: ['root-1', 'root-2'], threshold: 1 } } }, ['root-1'])], context))
    const swapped = rootBytes({ version: 2, roles: { root: { keys: ['root-1', 'root-2', 'root-3', 'root-4', 'root-6'], threshold: 3 } } }, ['root-4', 'root-5', 'root-1', 'root-6'])
    expect(accepted(updateRootChain(enrolled(), [swapped], context)).newState.root.version).toBe(2)
  })

  it('accepts an expired intermediate root when the final root is fresh', () => {
    const result = accepted(updateRootChain(enrolled(), [rootBytes({ version: 2, expiresInMs: -DAY }), rootBytes({ version: 3 })], context))
    expect(result.newState.root.version).toBe(3)
  })

  it(`applies at most ${MAX_ROOT_STEPS_PER_SYNC} root steps per sync and says more are pending`, () => {
    const roots = Array.from({ length: MAX_ROOT_STEPS_PER_SYNC + 1 }, (_, index) => rootBytes({ version: index + 2 }))
    const result = accepted(updateRootChain(enrolled(), roots, context))
    expect(result.newState.root.version).toBe(MAX_ROOT_STEPS_PER_SYNC + 1)
    expect(result.isUpdatePending).toBe(true)
    const next = accepted(updateRootChain(result.newState, roots.slice(MAX_ROOT_STEPS_PER_SYNC), context))
    expect(next.newState.root.version).toBe(MAX_ROOT_STEPS_PER_SYNC + 2)
  })

  it('recovers from a fast-forward: a director key rotation resets director_seq so the new key starts low', () => {
    const state = enrolled()
    const huge = accepted(verifyUpdate(state, inputs({ directive: directiveBytes({ seq: 9_000_000_000, action: 'noop', release: null, expect_current: null }) }), context))
    expect(huge.newState.directorSeq).toBe(9_000_000_000)
    const rotation = rootBytes({ version: 2, roles: { director: { keys: ['director-2'], threshold: 1 } } })
    const low = directiveBytes({ seq: 1, root_version: 2 }, release(), ['director-2'])
    const result = accepted(verifyUpdate(huge.newState, inputs({ roots: [rotation], directive: low }), context))
    expect(result.newState.directorSeq).toBe(1)
    expect(result.newState.root.version).toBe(2)
  })

  it('accepts a signed rollback to an older release at or above the floor', () => {
    const state = { ...installed(7), floors: { vad: { minReleaseCounter: 5, version: 1 } } }
    const result = accepted(verifyUpdate(state, inputs(pinned(release(), { ...onTopOf(7), action: 'rollback' })), context))
    expect(result.directive.action).toBe('rollback')
    expect(result.newState.directorSeq).toBe(6)
  })

  it('accepts a bad release again only with retry, and a commit clears the mark', () => {
    const state = recordBadRelease(installed(4), shaOf(5))
    const result = accepted(verifyUpdate(state, inputs(pinned(release(), { ...onTopOf(4), retry: true })), context))
    const committed = recordCommitted(result.newState, { modelId: 'vad', releaseCounter: 5, manifestSha256: shaOf(5) })
    expect(committed.badReleases).toEqual([])
    expect(committed.installed.vad?.releaseCounter).toBe(5)
  })

  it('raises the floor with a release-signed record and never lowers it', () => {
    const result = accepted(applyFloorRecords(enrolled(), [sim.signed('floor', sim.floor({ min_release_counter: 3 }), RELEASE_SIGNERS)], context))
    expect(result.newState.floors.vad).toEqual({ minReleaseCounter: 3, version: 1 })
    const raised = accepted(applyFloorRecords(result.newState, [sim.signed('floor', sim.floor({ min_release_counter: 5, version: 2 }), RELEASE_SIGNERS)], context))
    expect(raised.newState.floors.vad).toEqual({ minReleaseCounter: 5, version: 2 })
    const again = accepted(applyFloorRecords(raised.newState, [sim.signed('floor', sim.floor({ min_release_counter: 5, version: 2 }), RELEASE_SIGNERS)], context))
    expect(again.newState.floors.vad).toEqual({ minReleaseCounter: 5, version: 2 })
  })

  it('ignores unknown keyids and an invalid extra signature when the threshold is met', () => {
    const bytes = mutateEnvelope(manifestBytes(release(), ['release-1', 'release-2', 'director-1']), (envelope) => {
      envelope.signatures.push({ keyid: sim.keyid('release-3'), sig: '00'.repeat(64) })
    })
    const result = accepted(verifyUpdate(enrolled(), inputs({ manifest: bytes }), context))
    expect(result.release?.signatures.unknownKeyids).toEqual([sim.keyid('director-1')])
    expect(result.release?.signatures.invalidKeyids).toEqual([sim.keyid('release-3')])
  })

  it('preserves unknown fields by signing over the exact bytes', () => {
    const payload = encodePayload({ ...release(), x_vendor: { note: 'kept' } })
    const result = accepted(
      verifyUpdate(
        enrolled(),
        inputs({ manifest: sim.signed('release', payload, RELEASE_SIGNERS), directive: directiveBytes({ release: { model_id: 'vad', release_counter: 5, manifest_sha256: sim.digest(payload) } }) }),
        context,
      ),
    )
    expect(result.release?.manifestSha256).toBe(sim.digest(payload))
  })

  it('accepts noop directives and heartbeats and moves trusted time forward only', () => {
    const noop = accepted(verifyUpdate(enrolled(), inputs({ directive: directiveBytes({ action: 'noop', release: null, expect_current: null }), manifest: undefined }), context))
    expect(noop.release).toBeNull()
    const beat = accepted(verifyHeartbeat(noop.newState, sim.signed('heartbeat', sim.heartbeat({ issued: sim.iso(HOUR) }), DIRECTOR), context))
    expect(beat.newState.trustedTimeMs).toBe(NOW + HOUR)
    expect(beat.newState.lastHeartbeatIssuedMs).toBe(NOW + HOUR)
    expect(checkFreshness(beat.newState, NOW + 40 * HOUR).verdict).toBe('accept')
  })

  it('accepts a fresh report with a higher report_seq', () => {
    const device = { deviceId: sim.deviceId, publicKey: sim.key('device-d-1').publicKey, lastReportSeq: 3 }
    const result = accepted(verifyReport(device, sim.signed('report', sim.report({ report_seq: 4 }), ['device-d-1']), context))
    expect(result.lastReportSeq).toBe(4)
  })

  it('accepts the chunk list, every chunk and the whole file', () => {
    chunkHashes.forEach((_hash, index) => expect(verifyChunk(sha256, modelFile, chunkHashes, index, chunk(index)).verdict).toBe('accept'))
    expect(chunkHashes).toHaveLength(5)
    expect(verifyFileBytes(sha256, modelFile, modelBytes).verdict).toBe('accept')
  })

  it('verifies a manifest on its own for the CLI, reporting which keyids counted', () => {
    const result = accepted(verifyReleaseManifest(enrolled().root, manifestBytes(release(), ['release-3', 'release-1']), context))
    expect(result.signatures.countedKeyids).toEqual([sim.keyid('release-1'), sim.keyid('release-3')].sort())
    expect(result.signatures.threshold).toBe(defaultRoles.release.threshold)
  })
})

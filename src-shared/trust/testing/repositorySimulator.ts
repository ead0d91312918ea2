/**
 * An in-memory repository for tests (the python-tuf / go-tuf RepositorySimulator idea, anchors-security.md §2.6):
 * deterministic named keys, signing, version bumps and byte serving, with no network and a fixed clock. Each
 * conformance case starts from its defaults and mutates one thing. The agent's tests can use it to produce
 * envelopes a real device must accept or refuse.
 */
import { encodeHex, encodeUtf8, type Sha256 } from '../bytes.ts'
import { buildRootMetadata, encodePayload } from '../buildMetadata.ts'
import { keyIdOf, keyPairFromSeed, signDetached, type SigningKeyPair } from '../ed25519.ts'
import { encodeBase64 } from '../bytes.ts'
import { encodeEnvelope, signingInput, type Envelope, type EnvelopeType } from '../envelope.ts'
import type {
  DeviceReport,
  DirectiveMetadata,
  FloorRecord,
  HeartbeatMetadata,
  ManifestFile,
  ReleaseManifest,
  RoleName,
  RootMetadata,
} from '../metadata.ts'
import type { DeviceCapabilities } from '../verifyRelease.ts'

export interface SimulatorOptions {
  sha256: Sha256
  nowMs: number
  /** A standard Ed25519 signer; tests may pass a faster implementation than tweetnacl's. */
  sign?: (secretKey: Uint8Array, message: Uint8Array) => Uint8Array
  deviceId?: string
}

export interface RoleLayout {
  keys: readonly string[]
  threshold: number
}

export interface RootLayout {
  version: number
  expiresInMs?: number
  roles?: Partial<Record<RoleName, RoleLayout>>
}

export interface SimulatedFile {
  bytes: Uint8Array
  file: ManifestFile
  chunkListBytes: Uint8Array | undefined
}

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

export const defaultRoles: Readonly<Record<RoleName, RoleLayout>> = {
  root: { keys: ['root-1', 'root-2', 'root-3', 'root-4', 'root-5'], threshold: 3 },
  release: { keys: ['release-1', 'release-2', 'release-3'], threshold: 2 },
  director: { keys: ['director-1'], threshold: 1 },
}

/** Deterministic bytes, so every run signs the same payloads. */
function patternBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length)
  let state = seed >>> 0 || 1
  for (let index = 0; index < length; index += 1) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    bytes[index] = state & 0xff
  }
  return bytes
}

export function createRepositorySimulator(options: SimulatorOptions) {
  const { sha256, nowMs } = options
  const deviceId = options.deviceId ?? 'd-1'
  const signer = options.sign ?? signDetached
  const keys = new Map<string, SigningKeyPair>()
  const signatureCache = new Map<string, Uint8Array>()

  function key(name: string): SigningKeyPair {
    let pair = keys.get(name)
    if (pair === undefined) {
      pair = keyPairFromSeed(sha256(encodeUtf8(`outpost-simulator-key:${name}`)))
      keys.set(name, pair)
    }
    return pair
  }

  const keyid = (name: string): string => keyIdOf(sha256, key(name).publicKey)
  const iso = (offsetMs = 0): string => new Date(nowMs + offsetMs).toISOString()
  const digest = (bytes: Uint8Array): string => encodeHex(sha256(bytes))

  function signature(name: string, message: Uint8Array): Uint8Array {
    const cacheKey = `${name}:${digest(message)}`
    let cached = signatureCache.get(cacheKey)
    if (cached === undefined) {
      cached = signer(key(name).secretKey, message)
      signatureCache.set(cacheKey, cached)
    }
    return cached
  }

  /** An envelope object (mutable, for tests that tamper with it). */
  function envelope(type: EnvelopeType, payload: object | Uint8Array, signerNames: readonly string[]): Envelope {
    const payloadBytes = payload instanceof Uint8Array ? payload : encodePayload(payload)
    return {
      type,
      payload: encodeBase64(payloadBytes),
      signatures: signerNames.map((name) => ({ keyid: keyid(name), sig: encodeHex(signature(name, signingInput(type, payloadBytes))) })),
    }
  }

  const signed = (type: EnvelopeType, payload: object | Uint8Array, signerNames: readonly string[]): Uint8Array =>
    encodeEnvelope(envelope(type, payload, signerNames))

  function root(layout: RootLayout): RootMetadata {
    const roles = { ...defaultRoles, ...layout.roles }
    return buildRootMetadata(sha256, {
      version: layout.version,
      expiresAt: iso(layout.expiresInMs ?? 365 * DAY_MS),
      roles: {
        root: { publicKeys: roles.root.keys.map((name) => key(name).publicKey), threshold: roles.root.threshold },
        release: { publicKeys: roles.release.keys.map((name) => key(name).publicKey), threshold: roles.release.threshold },
        director: { publicKeys: roles.director.keys.map((name) => key(name).publicKey), threshold: roles.director.threshold },
      },
    })
  }

  function chunkedFile(name: string, length: number, chunkSize: number, seed: number): SimulatedFile {
    const bytes = patternBytes(length, seed)
    const sha = digest(bytes)
    const chunks: string[] = []
    for (let offset = 0; offset < length; offset += chunkSize) chunks.push(digest(bytes.subarray(offset, offset + chunkSize)))
    const chunkListBytes = encodePayload({ v: 1, sha256: sha, chunkSizeBytes: chunkSize, chunks })
    return { bytes, chunkListBytes, file: { name, length, sha256: sha, chunk_size: chunkSize, chunk_list_sha256: digest(chunkListBytes) } }
  }

  function plainFile(name: string, length: number, seed: number): SimulatedFile {
    const bytes = patternBytes(length, seed)
    return { bytes, chunkListBytes: undefined, file: { name, length, sha256: digest(bytes) } }
  }

  const files = {
    model: chunkedFile('model.onnx', 70_000, 16 * 1024, 7),
    goldenInputs: plainFile('golden_in.bin', 640, 11),
    goldenOutputs: plainFile('golden_out.bin', 160, 13),
  }

  function release(overrides: Partial<ReleaseManifest> = {}): ReleaseManifest {
    return {
      spec: 'outpost-release/1',
      model_id: 'vad',
      release_counter: 5,
      version: '2.3.0',
      issued: iso(-HOUR_MS),
      expires: iso(180 * DAY_MS),
      files: [files.model.file, files.goldenInputs.file, files.goldenOutputs.file],
      compat: {
        runtime: 'onnxruntime-node',
        runtime_min_version: '1.30.0',
        opset_max: 17,
        execution_providers: ['cpu'],
        variants: [{ name: 'fp32', file: 'model.onnx', execution_provider: 'cpu' }],
      },
      health: { golden_inputs: 'golden_in.bin', golden_outputs: 'golden_out.bin', tolerance: 1e-4, timeout_s: 120 },
      drift: { features: [{ name: 'features[0]', bin_edges: [-1, 0, 1], reference_counts: [10, 40, 40, 10] }] },
      card: '# vad\nVoice activity detection for the simulator.',
      ...overrides,
    }
  }

  /** The SHA-256 a directive pins: of the manifest payload bytes. */
  const manifestSha256 = (manifest: ReleaseManifest | Uint8Array): string =>
    digest(manifest instanceof Uint8Array ? manifest : encodePayload(manifest))

  function directive(overrides: Partial<DirectiveMetadata> = {}, forManifest: ReleaseManifest = release()): DirectiveMetadata {
    return {
      spec: 'outpost-directive/1',
      device_id: deviceId,
      seq: 1,
      issued: iso(-60_000),
      not_before: iso(-5 * 60_000),
      expires: iso(DAY_MS),
      root_version: 1,
      action: 'install',
      release: { model_id: forManifest.model_id, release_counter: forManifest.release_counter, manifest_sha256: manifestSha256(forManifest) },
      expect_current: { manifest_sha256: null },
      rollout: { id: 'r-1', stage: 0 },
      reason: 'canary',
      retry: false,
      ...overrides,
    }
  }

  function floor(overrides: Partial<FloorRecord> = {}): FloorRecord {
    return {
      spec: 'outpost-floor/1',
      model_id: 'vad',
      min_release_counter: 4,
      version: 1,
      issued: iso(-HOUR_MS),
      expires: iso(365 * DAY_MS),
      reason: 'CVE in release 3',
      ...overrides,
    }
  }

  function heartbeat(overrides: Partial<HeartbeatMetadata> = {}): HeartbeatMetadata {
    return { spec: 'outpost-heartbeat/1', device_id: deviceId, issued: iso(-60_000), expires: iso(DAY_MS), root_version: 1, ...overrides }
  }

  function report(overrides: Partial<DeviceReport> = {}): DeviceReport {
    return {
      spec: 'outpost-report/1',
      device_id: deviceId,
      report_seq: 1,
      last_directive_seq: 0,
      active: null,
      state: 'idle',
      trusted_time: iso(),
      attack_indicators: [],
      health: null,
      ...overrides,
    }
  }

  const device: DeviceCapabilities = {
    agentVersion: '0.1.0',
    arch: 'x64',
    runtime: 'onnxruntime-node',
    runtimeVersion: '1.30.0',
    opsetMax: 21,
    executionProviders: ['cpu'],
  }

  return { nowMs, deviceId, device, files, key, keyid, iso, digest, envelope, signed, root, release, manifestSha256, directive, floor, heartbeat, report }
}

export type RepositorySimulator = ReturnType<typeof createRepositorySimulator>

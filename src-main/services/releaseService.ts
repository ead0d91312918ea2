/**
 * Signed releases in the control center (anchors-security.md §10, issue 4): imports release bundles (verified
 * against the trusted root, file by file, in the control center's own copy), lists them with their signatures,
 * threshold status and lineage, and signs director directives that name them. The release role's keys never come
 * here; the director key does, loaded once at start (`outpost serve --trust-dir`).
 */
import type { BundleUploadFile, ReleaseSignatures, ReleaseSummary, SignatureStatus, TrustStatus } from '../../src-shared/contract/releasesContract.ts'
import { AppError, errorCodeForTrust } from '../../src-shared/errors.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import { decodeUtf8, encodeHex, encodeUtf8, type Sha256 } from '../../src-shared/trust/bytes.ts'
import { encodePayload } from '../../src-shared/trust/buildMetadata.ts'
import { createEnvelope, decodeEnvelope, encodeEnvelope, MAX_ENVELOPE_BYTES, type Envelope } from '../../src-shared/trust/envelope.ts'
import { DirectiveMetadata, instantMs, ReleaseManifest } from '../../src-shared/trust/metadata.ts'
import { describeSignatures } from '../../src-shared/trust/verifyRelease.ts'
import { readModelCard } from '../core/releases/modelCard.ts'
import type { Clock } from '../ports/Clock.ts'
import type { BundleRejection, ReleaseBundleStore, StagedBundle, TrustMaterial } from '../ports/ReleaseBundleStore.ts'
import type { ReleaseRecord, ReleaseRepository } from '../ports/ReleaseRepository.ts'

/** §10.5: directives live 24 h. */
export const DIRECTIVE_VALIDITY_MS = 24 * 3_600_000
/** Devices whose clock runs a little behind still accept a directive issued just now. */
export const DIRECTIVE_CLOCK_SKEW_MS = 5 * 60_000

export interface ReleaseServiceOptions {
  releases: ReleaseRepository
  bundles: ReleaseBundleStore
  /** Null when the control center runs without --trust-dir: releases can be listed but not imported or signed. */
  trust: TrustMaterial | null
  sha256: Sha256
  clock: Clock
  onReleaseChanged?: (release: ReleaseSummary) => void
  log: Logger
}

/** What the fleet code asks the director to sign; the service adds spec, root version and the validity window. */
export type DirectiveRequest = Omit<DirectiveMetadata, 'spec' | 'root_version' | 'issued' | 'not_before' | 'expires'> & {
  /** At most DIRECTIVE_VALIDITY_MS (the default). */
  validForMs?: number
}

export interface SignedDirective {
  directive: DirectiveMetadata
  envelope: Envelope
  /** What goes on the wire (fleet/<id>/desired). */
  envelopeBytes: Uint8Array
  /** SHA-256 of the payload: the directive's idempotency key (§10.2), unchanged by re-signing. */
  directiveSha256: string
}

function bundleError(rejection: BundleRejection): AppError {
  const details = { trustCode: rejection.code, stage: rejection.stage }
  if (rejection.code === 'unexpected-file' || rejection.code === 'missing-file') return new AppError('bundle-invalid', rejection.reason, details)
  return new AppError(errorCodeForTrust(rejection.code), rejection.reason, details)
}

function notConfigured(): AppError {
  return new AppError('trust-not-configured', 'This control center has no trust root; restart it with `outpost serve --trust-dir DIR`')
}

/** Extra, signed fields the schema does not keep: read from the payload text itself. */
function overrideReasonOf(manifestJson: string): string | null {
  try {
    const value = (JSON.parse(manifestJson) as { release_override?: { reason?: unknown } }).release_override?.reason
    return typeof value === 'string' ? value.slice(0, 500) : null
  } catch {
    return null
  }
}

export function createReleaseService(options: ReleaseServiceOptions) {
  const { releases, bundles, trust, sha256, clock, log } = options

  function signaturesOf(envelopeBytes: Uint8Array): ReleaseSignatures {
    const decoded = decodeEnvelope(envelopeBytes, 'release', 'release')
    const keyids = decoded.verdict === 'accept' ? decoded.envelope.signatures.map((entry) => entry.keyid) : []
    if (trust === null) {
      return {
        threshold: null,
        validCount: null,
        roleKeyCount: null,
        isThresholdMet: false,
        entries: keyids.map((keyid) => ({ keyid, status: 'unchecked' as const })),
      }
    }
    const described = describeSignatures(sha256, trust.root, envelopeBytes, 'release')
    const role = trust.root.roles.release
    if (described.verdict === 'reject') {
      return { threshold: role.threshold, validCount: 0, roleKeyCount: role.keyids.length, isThresholdMet: false, entries: [] }
    }
    const { countedKeyids, invalidKeyids, isMet, threshold } = described.signatures
    const statusOf = (keyid: string): SignatureStatus => (countedKeyids.includes(keyid) ? 'valid' : invalidKeyids.includes(keyid) ? 'invalid' : 'unknown-key')
    return {
      threshold,
      validCount: countedKeyids.length,
      roleKeyCount: role.keyids.length,
      isThresholdMet: isMet,
      entries: [...new Set(keyids)].map((keyid) => ({ keyid, status: statusOf(keyid) })),
    }
  }

  function toSummary(record: ReleaseRecord): ReleaseSummary {
    const manifest = ReleaseManifest.parse(JSON.parse(record.manifestJson))
    return {
      releaseId: record.releaseId,
      modelId: manifest.model_id,
      releaseCounter: manifest.release_counter,
      version: manifest.version,
      issuedAt: manifest.issued,
      expiresAt: manifest.expires,
      importedAt: record.importedAt,
      updatedAt: record.updatedAt,
      isExpired: instantMs(manifest.expires) <= clock.nowMs(),
      files: manifest.files.map((file) => ({
        name: file.name,
        sizeBytes: file.length,
        sha256: file.sha256,
        chunkCount: file.chunk_size === undefined ? 0 : Math.ceil(file.length / file.chunk_size),
      })),
      runtime: manifest.compat.runtime,
      runtimeMinVersion: manifest.compat.runtime_min_version,
      opsetMax: manifest.compat.opset_max,
      executionProviders: manifest.compat.execution_providers,
      healthTolerance: manifest.health.tolerance,
      signatures: signaturesOf(encodeUtf8(record.envelopeJson)),
      card: manifest.card,
      lineage: readModelCard(manifest.card).lineage,
      overrideReason: overrideReasonOf(record.manifestJson),
    }
  }

  /** Keeps only signatures that verify under the release role, merging those already stored for this payload. */
  function mergeSignatures(incoming: Uint8Array, stored: ReleaseRecord | undefined, trusted: TrustMaterial): Uint8Array {
    const fresh = JSON.parse(decodeUtf8(incoming) ?? '{}') as Envelope
    const previous = stored === undefined ? [] : (JSON.parse(stored.envelopeJson) as Envelope).signatures
    const byKeyid = new Map([...previous, ...fresh.signatures].map((entry) => [entry.keyid, entry]))
    const candidate = encodeEnvelope({ type: 'release', payload: fresh.payload, signatures: [...byKeyid.values()] })
    const described = describeSignatures(sha256, trusted.root, candidate, 'release')
    const counted = new Set(described.verdict === 'accept' ? described.signatures.countedKeyids : [])
    return encodeEnvelope({ type: 'release', payload: fresh.payload, signatures: [...byKeyid.values()].filter((entry) => counted.has(entry.keyid)) })
  }

  async function importStaged(staged: StagedBundle, source: string): Promise<ReleaseSummary> {
    try {
      if (trust === null) throw notConfigured()
      const nowMs = clock.nowMs()
      const verified = await bundles.verify(staged, trust.root, nowMs)
      if (verified.verdict === 'reject') throw bundleError(verified)
      const { manifest, manifestSha256 } = verified
      const sameCounter = await releases.getByCounter(manifest.model_id, manifest.release_counter)
      if (sameCounter !== undefined && sameCounter.releaseId !== manifestSha256) {
        throw new AppError(
          'conflict',
          `Release ${manifest.model_id} #${manifest.release_counter} was already imported with another manifest (${sameCounter.releaseId.slice(0, 12)}…); every release of a model needs its own counter`,
          { modelId: manifest.model_id, releaseCounter: manifest.release_counter },
        )
      }
      const stored = await releases.get(manifestSha256)
      const envelopeBytes = mergeSignatures(verified.envelopeBytes, stored, trust)
      await bundles.commit(staged, manifestSha256, envelopeBytes)
      const at = new Date(nowMs).toISOString()
      const envelopeJson = decodeUtf8(envelopeBytes) ?? ''
      if (stored === undefined) {
        await releases.insert({
          releaseId: manifestSha256,
          modelId: manifest.model_id,
          releaseCounter: manifest.release_counter,
          version: manifest.version,
          issuedAt: manifest.issued,
          expiresAt: manifest.expires,
          importedAt: at,
          updatedAt: at,
          envelopeJson,
          manifestJson: verified.manifestJson,
        })
      } else if (stored.envelopeJson !== envelopeJson) {
        await releases.updateEnvelope(manifestSha256, envelopeJson, at)
      }
      const record = await releases.get(manifestSha256)
      if (record === undefined) throw new AppError('internal', `Release ${manifestSha256} vanished right after it was stored`)
      const summary = toSummary(record)
      log.info('Imported a release', {
        releaseId: manifestSha256,
        modelId: summary.modelId,
        releaseCounter: summary.releaseCounter,
        validSignatures: summary.signatures.validCount,
        threshold: summary.signatures.threshold,
        source,
      })
      options.onReleaseChanged?.(summary)
      return summary
    } finally {
      await bundles.discard(staged)
    }
  }

  return {
    trustStatus(): TrustStatus {
      if (trust === null) {
        return { isConfigured: false, rootVersion: null, rootExpiresAt: null, releaseThreshold: null, releaseKeyCount: null, directorKeyid: null }
      }
      return {
        isConfigured: true,
        rootVersion: trust.root.version,
        rootExpiresAt: trust.root.expires,
        releaseThreshold: trust.root.roles.release.threshold,
        releaseKeyCount: trust.root.roles.release.keyids.length,
        directorKeyid: trust.director.keyid,
      }
    },

    /** root.json as loaded, for enrolling devices; null without a trust root. */
    rootEnvelope(): Uint8Array | null {
      return trust?.rootEnvelopeBytes ?? null
    },

    async list(): Promise<ReleaseSummary[]> {
      return (await releases.list()).map(toSummary)
    },

    async get(releaseId: string): Promise<ReleaseSummary> {
      const record = await releases.get(releaseId)
      if (record === undefined) throw new AppError('not-found', `No release ${releaseId.slice(0, 12)}…; import its bundle first`, { releaseId })
      return toSummary(record)
    },

    /** Throws 'trust-not-configured', 'not-found', 'conflict', or the code of the first trust failure. */
    async importPath(path: string): Promise<ReleaseSummary> {
      if (trust === null) throw notConfigured()
      return importStaged(await bundles.stageFromPath(path), path)
    },

    async importUpload(files: ReadonlyArray<{ path: BundleUploadFile['path']; bytes: Uint8Array }>): Promise<ReleaseSummary> {
      if (trust === null) throw notConfigured()
      return importStaged(await bundles.stageFromUpload(files), 'upload')
    },

    /**
     * Signs a directive with the director key for the fleet and rollout code. A directive naming a release is
     * signed only when that release is imported, matches the reference, meets its release threshold and has not
     * expired, since a device would refuse anything else. Throws 'trust-not-configured', 'not-found',
     * 'metadata-invalid', 'threshold-not-met', 'metadata-expired', 'invalid-input'.
     */
    async signDirective(request: DirectiveRequest): Promise<SignedDirective> {
      if (trust === null) throw notConfigured()
      const nowMs = clock.nowMs()
      if (instantMs(trust.root.expires) <= nowMs) {
        throw new AppError('metadata-expired', `Root version ${trust.root.version} expired at ${trust.root.expires}; devices refuse directives under it until the root key holders sign a new root`)
      }
      const validForMs = request.validForMs ?? DIRECTIVE_VALIDITY_MS
      if (!Number.isInteger(validForMs) || validForMs <= 0 || validForMs > DIRECTIVE_VALIDITY_MS) {
        throw new AppError('invalid-input', `A directive is valid for 1 ms to ${DIRECTIVE_VALIDITY_MS} ms, not ${validForMs}`)
      }
      if (request.release !== null) {
        const ref = request.release
        const record = await releases.get(ref.manifest_sha256)
        if (record === undefined) throw new AppError('not-found', `No imported release ${ref.manifest_sha256.slice(0, 12)}…; import its bundle before directing devices to it`)
        const summary = toSummary(record)
        if (summary.modelId !== ref.model_id || summary.releaseCounter !== ref.release_counter) {
          throw new AppError('metadata-invalid', `Release ${ref.manifest_sha256.slice(0, 12)}… is ${summary.modelId} #${summary.releaseCounter}, not ${ref.model_id} #${ref.release_counter}`)
        }
        if (!summary.signatures.isThresholdMet) {
          throw new AppError('threshold-not-met', `Release ${summary.modelId} #${summary.releaseCounter} has ${summary.signatures.validCount ?? 0} of the ${summary.signatures.threshold ?? '?'} release signatures it needs`)
        }
        if (summary.isExpired) throw new AppError('metadata-expired', `Release ${summary.modelId} #${summary.releaseCounter} expired at ${summary.expiresAt}; release signers must re-sign it`)
      }
      const { validForMs: _validFor, ...fields } = request
      const parsed = DirectiveMetadata.safeParse({
        spec: 'outpost-directive/1',
        ...fields,
        issued: new Date(nowMs).toISOString(),
        not_before: new Date(nowMs - DIRECTIVE_CLOCK_SKEW_MS).toISOString(),
        expires: new Date(nowMs + validForMs).toISOString(),
        root_version: trust.root.version,
      })
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        throw new AppError('invalid-input', `The directive is not valid (${issue?.path.map(String).join('.') ?? ''}: ${issue?.message ?? 'invalid'})`)
      }
      // The schema-checked copy is what gets signed, so no field the schema does not know rides along.
      const payloadBytes = encodePayload(parsed.data)
      const envelope = createEnvelope(sha256, 'directive', payloadBytes, [trust.director.keyPair])
      const envelopeBytes = encodeEnvelope(envelope)
      if (envelopeBytes.length > MAX_ENVELOPE_BYTES.directive) {
        throw new AppError('invalid-input', `The directive is ${envelopeBytes.length} bytes; the cap is ${MAX_ENVELOPE_BYTES.directive} (shorten the reason)`)
      }
      return { directive: parsed.data, envelope, envelopeBytes, directiveSha256: encodeHex(sha256(payloadBytes)) }
    },
  }
}

export type ReleaseService = ReturnType<typeof createReleaseService>

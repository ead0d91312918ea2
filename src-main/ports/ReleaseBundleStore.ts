import type { BundleUploadFile } from '../../src-shared/contract/releasesContract.ts'
import type { ThresholdResult } from '../../src-shared/trust/envelope.ts'
import type { SigningKeyPair } from '../../src-shared/trust/ed25519.ts'
import type { ReleaseManifest, RootMetadata } from '../../src-shared/trust/metadata.ts'
import type { TrustRejection } from '../../src-shared/trust/trustErrors.ts'

/** What the control center trusts and signs with, loaded once at start from `--trust-dir`. */
export interface TrustMaterial {
  root: RootMetadata
  /** root.json as read, for devices that enroll. */
  rootEnvelopeBytes: Uint8Array
  director: { keyid: string; keyPair: SigningKeyPair }
}

/** A bundle copied into the control center's own storage, not yet verified or committed. */
export interface StagedBundle {
  path: string
}

/** A bundle rejection: a trust code, or a file that is missing from or foreign to the bundle. */
export type BundleRejection = Omit<TrustRejection, 'code' | 'stage'> & {
  code: TrustRejection['code'] | 'unexpected-file' | 'missing-file'
  stage: TrustRejection['stage'] | 'bundle'
}

export type StagedVerification =
  | {
      verdict: 'accept'
      manifest: ReleaseManifest
      manifestSha256: string
      manifestJson: string
      envelopeBytes: Uint8Array
      signatures: ThresholdResult
    }
  | BundleRejection

/** Release bundles on the control center's disk: `<dataDir>/releases/<manifestSha256>/`. */
export interface ReleaseBundleStore {
  /** Copies a bundle folder into staging. Throws AppError 'not-found'; foreign entries are reported by verify. */
  stageFromPath(path: string): Promise<StagedBundle>
  /** Writes uploaded files into staging; a path outside the bundle layout is refused ('path-unsafe'). */
  stageFromUpload(files: ReadonlyArray<{ path: BundleUploadFile['path']; bytes: Uint8Array }>): Promise<StagedBundle>
  /**
   * Verifies the staged copy against the root: envelope, release signatures (at least one valid and none
   * invalid; the threshold may still be short), schema, expiry, then every file and chunk.
   */
  verify(staged: StagedBundle, root: RootMetadata, nowMs: number): Promise<StagedVerification>
  /** Moves a verified stage to its content address, or, when that exists, replaces only its release.json. */
  commit(staged: StagedBundle, manifestSha256: string, envelopeBytes: Uint8Array): Promise<void>
  /** Removes a stage; never throws. */
  discard(staged: StagedBundle): Promise<void>
}

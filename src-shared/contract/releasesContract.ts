import { z } from 'zod'
import { Instant, Sha256Hex } from '../domain/ids.ts'
import type { EventTable, MethodTable } from '../rpc/types.ts'
import { MAX_UPLOAD_BYTES } from './modelsContract.ts'

/**
 * Signed releases (anchors-security.md §10, issue 4): bundles made by `outpost release create`, signed offline by
 * the release role and imported into the control center, which keeps a verified copy and signs director
 * directives that name them.
 */

/** How one signature entry on the release envelope fared against the release role of the trusted root. */
export const SignatureStatus = z.enum(['valid', 'invalid', 'unknown-key', 'unchecked'])
export type SignatureStatus = z.infer<typeof SignatureStatus>

export const ReleaseSignatures = z.object({
  /** Release signatures the role needs; null when this control center has no trust root to check against. */
  threshold: z.number().int().positive().nullable(),
  /** Distinct release keys whose signature verified; null without a trust root. */
  validCount: z.number().int().nonnegative().nullable(),
  /** Keys of the release role in the trusted root; null without one. */
  roleKeyCount: z.number().int().nonnegative().nullable(),
  isThresholdMet: z.boolean(),
  entries: z.array(z.object({ keyid: Sha256Hex, status: SignatureStatus })).max(32),
})
export type ReleaseSignatures = z.infer<typeof ReleaseSignatures>

/** Where the candidate came from, read from its model card when the card is JSON; every field may be missing. */
export const ReleaseLineage = z.object({
  sourceSha256: Sha256Hex.nullable(),
  sourceName: z.string().max(256).nullable(),
  recipe: z.string().max(128).nullable(),
  toolVersion: z.string().max(128).nullable(),
  /** The evaluation gate's verdict as the card records it; null when the card has none. */
  isReleaseReady: z.boolean().nullable(),
  readinessReasons: z.array(z.string().max(512)).max(32),
  /** Numeric metrics the card lists at its top level or under `metrics` (agreement, size ratio, ...). */
  metrics: z.array(z.object({ name: z.string().max(128), value: z.number() })).max(64),
})
export type ReleaseLineage = z.infer<typeof ReleaseLineage>

export const ReleaseFileSummary = z.object({
  name: z.string().max(64),
  sizeBytes: z.number().int().nonnegative(),
  sha256: Sha256Hex,
  chunkCount: z.number().int().nonnegative(),
})
export type ReleaseFileSummary = z.infer<typeof ReleaseFileSummary>

export const ReleaseSummary = z.object({
  /** SHA-256 of the manifest payload bytes: what directives pin; unchanged when signatures are added. */
  releaseId: Sha256Hex,
  modelId: z.string().max(64),
  releaseCounter: z.number().int().positive(),
  version: z.string().max(64),
  issuedAt: Instant,
  expiresAt: Instant,
  importedAt: Instant,
  /** Last time the stored envelope changed (a re-import with more signatures). */
  updatedAt: Instant,
  isExpired: z.boolean(),
  files: z.array(ReleaseFileSummary).max(64),
  runtime: z.string().max(64),
  runtimeMinVersion: z.string().max(64),
  opsetMax: z.number().int().nonnegative(),
  executionProviders: z.array(z.string().max(32)).max(16),
  healthTolerance: z.number().nonnegative(),
  signatures: ReleaseSignatures,
  /** The model card as the manifest carries it (JSON or Markdown text). */
  card: z.string().max(32 * 1024).nullable(),
  lineage: ReleaseLineage.nullable(),
  /** Why it was released although its card says it failed the evaluation gate. */
  overrideReason: z.string().max(500).nullable(),
})
export type ReleaseSummary = z.infer<typeof ReleaseSummary>

export const TrustStatus = z.object({
  isConfigured: z.boolean(),
  rootVersion: z.number().int().positive().nullable(),
  rootExpiresAt: Instant.nullable(),
  releaseThreshold: z.number().int().positive().nullable(),
  releaseKeyCount: z.number().int().nonnegative().nullable(),
  directorKeyid: Sha256Hex.nullable(),
})
export type TrustStatus = z.infer<typeof TrustStatus>

/** A file of an uploaded bundle, by its path inside the bundle folder: release.json, files/NAME or chunks/NAME. */
export const BundleUploadFile = z.object({
  path: z.string().min(1).max(200),
  contentBase64: z.string().max(Math.ceil(MAX_UPLOAD_BYTES / 3) * 4),
})
export type BundleUploadFile = z.infer<typeof BundleUploadFile>

/** A bundle holds release.json, up to 64 files and their chunk lists. */
export const MAX_BUNDLE_UPLOAD_FILES = 1 + 64 * 2

export const releasesMethods = {
  'releases.list': { input: z.object({}), output: z.array(ReleaseSummary) },
  'releases.trustStatus': { input: z.object({}), output: TrustStatus },
  /**
   * Imports a release bundle folder on the control center's machine. Every file is checked against the signed
   * manifest; a bundle still short of its release threshold is kept as pending. Importing the same release again
   * with more signatures adds them. Throws `trust-not-configured`, `not-found`, and the trust codes
   * (`signature-invalid`, `hash-mismatch`, `bundle-invalid`, `path-unsafe`, `metadata-expired`, ...).
   */
  'releases.import': { input: z.object({ path: z.string().min(1).max(4096) }), output: ReleaseSummary },
  /** The same from the files of a bundle folder chosen in the UI (total at most MAX_UPLOAD_BYTES). */
  'releases.upload': { input: z.object({ files: z.array(BundleUploadFile).min(1).max(MAX_BUNDLE_UPLOAD_FILES) }), output: ReleaseSummary },
} as const satisfies MethodTable

export const releasesEvents = {
  'release.changed': ReleaseSummary,
} as const satisfies EventTable

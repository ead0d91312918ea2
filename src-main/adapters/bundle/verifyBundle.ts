/**
 * Release bundle verification (anchors-security.md §10.3, §10.6 steps 4-5, applied to a folder):
 *
 *   release.json: size cap → envelope → release signatures against the trusted root → schema (file names
 *   included) → expiry; then the folder: nothing missing, nothing extra, no links; then every file: length,
 *   chunk list pinned by the manifest, each chunk against its hash, and the whole file's SHA-256.
 *
 * Every failure is a value with one code and one line; nothing here throws for a bad bundle.
 */
import { createHash } from 'node:crypto'
import { lstat, open, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AppError, trustRejectionError } from '../../../src-shared/errors.ts'
import { decodeUtf8, encodeHex, type Sha256 } from '../../../src-shared/trust/bytes.ts'
import { checkThreshold, decodeEnvelope, MAX_ENVELOPE_BYTES, thresholdRejection, type ThresholdResult } from '../../../src-shared/trust/envelope.ts'
import { instantMs, parsePayload, ReleaseManifest, type ManifestFile, type RootMetadata } from '../../../src-shared/trust/metadata.ts'
import { isRejection, reject } from '../../../src-shared/trust/trustErrors.ts'
import { verifyChunk, verifyChunkList, verifyFileDigest } from '../../../src-shared/trust/verifyArtifact.ts'
import { verifyReleaseManifest } from '../../../src-shared/trust/verifyRelease.ts'
import { roleKeys } from '../../../src-shared/trust/verifyRoot.ts'
import { MAX_CHUNK_LIST_BYTES } from '../../../src-shared/protocol/messages.ts'
import type { BundleRejection, StagedVerification } from '../../ports/ReleaseBundleStore.ts'
import { nodeSha256 } from '../keystore/keyFile.ts'
import { CHUNKS_DIR, chunkListFileName, FILES_DIR, RELEASE_FILE } from './bundleLayout.ts'

export type BundleCheck = { verdict: 'accept' } | BundleRejection
export type BundleVerification = StagedVerification

export interface VerifyBundleOptions {
  root: RootMetadata
  nowMs: number
  /**
   * 'threshold': the release threshold must be met (`outpost release verify`, devices). 'pending': the control
   * center keeps a release that has at least one valid release signature and no invalid one, so signers can
   * collect the rest.
   */
  signatures: 'threshold' | 'pending'
  sha256?: Sha256
}

/** A bundle rejection as an AppError for the RPC boundary; details.trustCode keeps the exact code. */
export function bundleFailure(rejection: BundleRejection): AppError {
  if (rejection.code === 'unexpected-file' || rejection.code === 'missing-file') {
    return new AppError('bundle-invalid', rejection.reason, { trustCode: rejection.code, stage: rejection.stage })
  }
  return trustRejectionError({ code: rejection.code, reason: rejection.reason, stage: rejection.stage })
}

const bundleReject = (code: BundleRejection['code'], reason: string): BundleRejection => ({ verdict: 'reject', code, reason, stage: 'bundle' })

type EntryKind = 'file' | 'directory' | 'link' | 'other' | 'missing'

async function entryKind(path: string): Promise<{ kind: EntryKind; sizeBytes: number }> {
  try {
    const stats = await lstat(path)
    if (stats.isSymbolicLink()) return { kind: 'link', sizeBytes: 0 }
    if (stats.isFile()) return { kind: 'file', sizeBytes: stats.size }
    if (stats.isDirectory()) return { kind: 'directory', sizeBytes: 0 }
    return { kind: 'other', sizeBytes: 0 }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing', sizeBytes: 0 }
    throw error
  }
}

/** Reads release.json under its cap: the bytes, or why they cannot be used. */
export async function readReleaseEnvelope(bundleDir: string): Promise<{ verdict: 'accept'; bytes: Uint8Array } | BundleRejection> {
  const path = join(bundleDir, RELEASE_FILE)
  const { kind, sizeBytes } = await entryKind(path)
  if (kind === 'missing') return bundleReject('missing-file', `The bundle has no ${RELEASE_FILE}`)
  if (kind !== 'file') return bundleReject('unexpected-file', `${RELEASE_FILE} is not a regular file`)
  const cap = MAX_ENVELOPE_BYTES.release
  if (sizeBytes > cap) return reject('release', 'oversized', `${RELEASE_FILE} is ${sizeBytes} bytes; the cap is ${cap}`)
  return { verdict: 'accept', bytes: new Uint8Array(await readFile(path)) }
}

/** Throws 'not-found' when the folder itself is missing: that is a mistake on the command line, not a bad bundle. */
export async function assertBundleFolder(bundleDir: string): Promise<void> {
  const { kind } = await entryKind(bundleDir)
  if (kind === 'missing') throw new AppError('not-found', `No release bundle at ${bundleDir}`, { path: bundleDir })
  if (kind !== 'directory') throw new AppError('invalid-input', `${bundleDir} is not a folder; a release bundle is the folder written by \`outpost release create\``, { path: bundleDir })
}

/** Signatures of a release envelope under the chosen policy, then its schema and expiry. */
export function verifyReleaseEnvelope(envelopeBytes: Uint8Array, options: VerifyBundleOptions): BundleVerification {
  const sha256 = options.sha256 ?? nodeSha256
  const context = { nowMs: options.nowMs, sha256 }
  const strict = () => {
    const verified = verifyReleaseManifest(options.root, envelopeBytes, context)
    if (verified.verdict === 'reject') return verified
    return {
      verdict: 'accept' as const,
      manifest: verified.manifest,
      manifestSha256: verified.manifestSha256,
      manifestJson: payloadText(envelopeBytes),
      envelopeBytes,
      signatures: verified.signatures,
    }
  }
  if (options.signatures === 'threshold') return strict()

  const decoded = decodeEnvelope(envelopeBytes, 'release', 'release')
  if (decoded.verdict === 'reject') return decoded
  const keys = roleKeys(sha256, options.root, 'release', 'release')
  if (isRejection(keys)) return keys
  const signatures: ThresholdResult = checkThreshold(decoded.envelope, keys)
  if (signatures.isMet) return strict()
  if (signatures.invalidKeyids.length > 0 || signatures.countedKeyids.length === 0) {
    return thresholdRejection('release', 'release manifest', keys, signatures)
  }
  const parsed = parsePayload(ReleaseManifest, decoded.envelope.payloadBytes, 'release', 'release manifest')
  if (parsed.verdict === 'reject') return parsed
  const manifest = parsed.value
  if (instantMs(manifest.expires) <= options.nowMs) {
    return reject('release', 'metadata-expired', `Release ${manifest.model_id} #${manifest.release_counter} expired at ${manifest.expires}; release signers must re-sign it`)
  }
  return {
    verdict: 'accept',
    manifest,
    manifestSha256: encodeHex(sha256(decoded.envelope.payloadBytes)),
    manifestJson: decodeUtf8(decoded.envelope.payloadBytes) ?? '',
    envelopeBytes,
    signatures,
  }
}

function payloadText(envelopeBytes: Uint8Array): string {
  const decoded = decodeEnvelope(envelopeBytes, 'release', 'release')
  return decoded.verdict === 'accept' ? (decodeUtf8(decoded.envelope.payloadBytes) ?? '') : ''
}

/** The whole bundle: release.json under the policy, then the folder and every byte of every file. */
export async function verifyBundle(bundleDir: string, options: VerifyBundleOptions): Promise<BundleVerification> {
  await assertBundleFolder(bundleDir)
  const envelope = await readReleaseEnvelope(bundleDir)
  if (envelope.verdict === 'reject') return envelope
  const verified = verifyReleaseEnvelope(envelope.bytes, options)
  if (verified.verdict === 'reject') return verified
  const contents = await verifyBundleContents(bundleDir, verified.manifest.files, options.sha256 ?? nodeSha256)
  if (contents.verdict === 'reject') return contents
  return verified
}

/** The folder layout: release.json, files/<listed name>, chunks/<chunk list sha256>.json, and nothing else. */
async function checkLayout(bundleDir: string, files: readonly ManifestFile[]): Promise<BundleCheck> {
  const listed = new Set(files.map((file) => file.name))
  const chunkLists = new Set(files.flatMap((file) => (file.chunk_list_sha256 === undefined ? [] : [chunkListFileName(file.chunk_list_sha256)])))
  const expected: ReadonlyMap<string, ReadonlySet<string>> = new Map([
    [FILES_DIR, listed],
    [CHUNKS_DIR, chunkLists],
  ])
  for (const name of await readdir(bundleDir)) {
    if (name === RELEASE_FILE) continue
    const children = expected.get(name)
    const { kind } = await entryKind(join(bundleDir, name))
    if (children === undefined || kind !== 'directory') {
      return bundleReject('unexpected-file', `${JSON.stringify(name)} is not part of a release bundle (only ${RELEASE_FILE}, ${FILES_DIR}/ and ${CHUNKS_DIR}/ are)`)
    }
  }
  for (const [folder, names] of expected) {
    const { kind } = await entryKind(join(bundleDir, folder))
    const present = kind === 'directory' ? await readdir(join(bundleDir, folder)) : []
    for (const name of present) {
      if (!names.has(name)) {
        return bundleReject('unexpected-file', `${folder}/${JSON.stringify(name).slice(1, -1)} is not listed in the signed manifest`)
      }
      const child = await entryKind(join(bundleDir, folder, name))
      if (child.kind !== 'file') return bundleReject('unexpected-file', `${folder}/${name} is a ${child.kind === 'link' ? 'symbolic link' : child.kind}, not a regular file`)
    }
    const missing = [...names].find((name) => !present.includes(name))
    if (missing !== undefined) return bundleReject('missing-file', `${folder}/${missing} is named by the signed manifest but missing from the bundle`)
  }
  return { verdict: 'accept' }
}

/** Streams one file, checking each chunk on the way (chunked files) and the total length and SHA-256. */
async function checkFile(bundleDir: string, file: ManifestFile, sha256: Sha256): Promise<BundleCheck> {
  const path = join(bundleDir, FILES_DIR, file.name)
  let chunkHashes: readonly string[] | undefined
  if (file.chunk_list_sha256 !== undefined) {
    const listPath = join(bundleDir, CHUNKS_DIR, chunkListFileName(file.chunk_list_sha256))
    const { sizeBytes } = await entryKind(listPath)
    if (sizeBytes > MAX_CHUNK_LIST_BYTES) return reject('artifact', 'oversized', `The chunk list of ${file.name} is ${sizeBytes} bytes; the cap is ${MAX_CHUNK_LIST_BYTES}`)
    const list = verifyChunkList(sha256, file, new Uint8Array(await readFile(listPath)))
    if (list.verdict === 'reject') return list
    chunkHashes = list.chunkHashes
  }
  const { sizeBytes } = await entryKind(path)
  if (sizeBytes !== file.length) return verifyFileDigest(file, sizeBytes, '')
  const blockBytes = file.chunk_size ?? 1024 * 1024
  const buffer = new Uint8Array(blockBytes)
  const whole = createHash('sha256')
  const handle = await open(path, 'r')
  let totalBytes = 0
  try {
    for (let index = 0; ; index += 1) {
      // Read a full block (short reads happen on pipes and network file systems), never past length + 1.
      let filled = 0
      while (filled < blockBytes) {
        const { bytesRead } = await handle.read(buffer, filled, blockBytes - filled, totalBytes + filled)
        if (bytesRead === 0) break
        filled += bytesRead
      }
      if (filled === 0) break
      const block = buffer.subarray(0, filled)
      totalBytes += filled
      if (totalBytes > file.length) break
      if (chunkHashes !== undefined) {
        const chunk = verifyChunk(sha256, file, chunkHashes, index, block)
        if (chunk.verdict === 'reject') return chunk
      }
      whole.update(block)
    }
  } finally {
    await handle.close()
  }
  return verifyFileDigest(file, totalBytes, totalBytes === file.length ? whole.digest('hex') : '')
}

export async function verifyBundleContents(bundleDir: string, files: readonly ManifestFile[], sha256: Sha256 = nodeSha256): Promise<BundleCheck> {
  const layout = await checkLayout(bundleDir, files)
  if (layout.verdict === 'reject') return layout
  for (const file of files) {
    const checked = await checkFile(bundleDir, file, sha256)
    if (checked.verdict === 'reject') return checked
  }
  return { verdict: 'accept' }
}

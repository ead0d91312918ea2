/**
 * `outpost release sign`: one release signer adds one signature, on their own machine, with no control center.
 * Before signing a bundle the signer's tool checks every file against the manifest it is about to sign, so a
 * signature never vouches for a manifest whose files were swapped after it was made.
 */
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { AppError, trustRejectionError } from '../../../src-shared/errors.ts'
import { decodeEnvelope, MAX_ENVELOPE_BYTES } from '../../../src-shared/trust/envelope.ts'
import { parsePayload, ReleaseManifest, type RootMetadata } from '../../../src-shared/trust/metadata.ts'
import { describeSignatures, type SignatureSummary } from '../../../src-shared/trust/verifyRelease.ts'
import { writeFileDurably } from '../keystore/durableWrite.ts'
import { nodeSha256, readKeyFile } from '../keystore/keyFile.ts'
import { addSignatureToEnvelope } from '../keystore/signing.ts'
import { envelopePathOf } from './createBundle.ts'
import { bundleFailure, verifyBundleContents } from './verifyBundle.ts'

export interface SignReleaseOptions {
  /** A bundle folder, or an envelope file such as a floor record. */
  target: string
  keyPath: string
  passphrase: string
  /** When given, the result says how many valid signatures of the role the envelope now has. */
  root?: RootMetadata | undefined
}

export interface SignedRelease {
  envelopePath: string
  keyid: string
  signatureCount: number
  summary: SignatureSummary | undefined
}

export async function signRelease(options: SignReleaseOptions): Promise<SignedRelease> {
  const { path, isBundle } = await envelopePathOf(options.target)
  const bytes = new Uint8Array(await readFile(path))
  if (bytes.length > MAX_ENVELOPE_BYTES.release) throw new AppError('metadata-invalid', `${path} is ${bytes.length} bytes; no signed metadata is that large`)
  if (isBundle) {
    const decoded = decodeEnvelope(bytes, 'release', 'release')
    if (decoded.verdict === 'reject') throw trustRejectionError(decoded)
    const parsed = parsePayload(ReleaseManifest, decoded.envelope.payloadBytes, 'release', 'release manifest')
    if (parsed.verdict === 'reject') throw trustRejectionError(parsed)
    const contents = await verifyBundleContents(dirname(path), parsed.value.files)
    if (contents.verdict === 'reject') throw bundleFailure(contents)
  }
  // The key's header names its keyid; addSignatureToEnvelope recomputes it from the decrypted key.
  const keyFile = await readKeyFile(options.keyPath)
  const signed = await addSignatureToEnvelope(bytes, options.keyPath, options.passphrase)
  await writeFileDurably(path, signed, { mode: 0o644, overwrite: true })
  const envelope = JSON.parse(new TextDecoder().decode(signed)) as { type: 'release' | 'floor'; signatures: unknown[] }
  let summary: SignatureSummary | undefined
  if (options.root !== undefined) {
    const described = describeSignatures(nodeSha256, options.root, signed, envelope.type)
    if (described.verdict === 'reject') throw trustRejectionError(described)
    summary = described
  }
  return { envelopePath: path, keyid: keyFile.keyid, signatureCount: envelope.signatures.length, summary }
}

/**
 * Reads a root.json that is trusted out of band (the file `outpost keys init` wrote, or a newer one the operator
 * copied in): it must be a root envelope signed by its own root threshold, with consistent roles, and unexpired.
 */
import { lstat, readFile } from 'node:fs/promises'
import { AppError } from '../../../src-shared/errors.ts'
import { MAX_ENVELOPE_BYTES } from '../../../src-shared/trust/envelope.ts'
import { instantMs, type RootMetadata } from '../../../src-shared/trust/metadata.ts'
import { reject, type TrustRejection } from '../../../src-shared/trust/trustErrors.ts'
import { createDeviceTrustState } from '../../../src-shared/trust/verifyRoot.ts'
import { nodeSha256 } from '../keystore/keyFile.ts'

export type TrustedRootResult = { verdict: 'accept'; root: RootMetadata; rootBytes: Uint8Array } | TrustRejection

/** Throws AppError 'not-found' for a missing file; a file that is not a valid root is a rejection value. */
export async function readTrustedRoot(path: string, nowMs: number): Promise<TrustedRootResult> {
  let sizeBytes: number
  try {
    const stats = await lstat(path)
    if (!stats.isFile()) throw new AppError('invalid-input', `${path} is not a regular file; pass the root.json written by \`outpost keys init\``, { path })
    sizeBytes = stats.size
  } catch (error) {
    if (error instanceof AppError) throw error
    throw new AppError('not-found', `Cannot read the trust root ${path} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`, { path })
  }
  if (sizeBytes > MAX_ENVELOPE_BYTES.root) return reject('root', 'oversized', `${path} is ${sizeBytes} bytes; the cap is ${MAX_ENVELOPE_BYTES.root}`)
  const rootBytes = new Uint8Array(await readFile(path))
  // A root file ends with a newline when written by keys init; the envelope is the JSON before it.
  const state = createDeviceTrustState('trust-root-reader', rootBytes, { nowMs, sha256: nodeSha256 })
  if (state.verdict === 'reject') return state
  const root = state.newState.root
  if (instantMs(root.expires) <= nowMs) {
    return reject('root', 'metadata-expired', `Root version ${root.version} expired at ${root.expires}; the root key holders must sign a new one`)
  }
  return { verdict: 'accept', root, rootBytes }
}

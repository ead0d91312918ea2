/**
 * Offline signing with key files: no control center needed. Threshold signing by separate people is
 * `signEnvelope` by the first signer and `addSignatureToEnvelope` by each of the others, on their own machines.
 */
import { AppError } from '../../../src-shared/errors.ts'
import { decodeUtf8 } from '../../../src-shared/trust/bytes.ts'
import { addSignature, createEnvelope, decodeEnvelope, encodeEnvelope, envelopeTypes, type Envelope, type EnvelopeType } from '../../../src-shared/trust/envelope.ts'
import { loadKey, nodeSha256, type KeyRole, type OpenedKey } from './keyFile.ts'

/** Which role's keys sign each type of metadata (anchors-security.md §10.1). */
export const signingRoleOf: Readonly<Record<EnvelopeType, KeyRole>> = {
  root: 'root',
  release: 'release',
  floor: 'release',
  directive: 'director',
  heartbeat: 'director',
  report: 'device',
}

function assertRole(key: OpenedKey, type: EnvelopeType, label: string): void {
  const expected = signingRoleOf[type]
  if (key.role !== expected) {
    throw new AppError('invalid-input', `${label} holds a ${key.role} key; ${type} metadata is signed with ${expected} keys`, { key: label, role: key.role, type })
  }
}

/** Signs payload bytes with each key file (all opened with one passphrase). */
export async function signEnvelope(payloadBytes: Uint8Array, type: EnvelopeType, keyFiles: readonly string[], passphrase: string): Promise<Envelope> {
  if (keyFiles.length === 0) throw new AppError('invalid-input', 'Name at least one key file to sign with')
  const keys: OpenedKey[] = []
  for (const path of keyFiles) {
    const key = await loadKey(path, passphrase)
    assertRole(key, type, path)
    keys.push(key)
  }
  return createEnvelope(nodeSha256, type, payloadBytes, keys.map((key) => key.keyPair))
}

/** The envelope's own type, read before the strict decode that needs it. */
function envelopeTypeOf(envelopeBytes: Uint8Array): EnvelopeType {
  const text = decodeUtf8(envelopeBytes)
  let type: unknown
  try {
    type = text === undefined ? undefined : (JSON.parse(text) as { type?: unknown }).type
  } catch {
    type = undefined
  }
  const known = envelopeTypes.find((candidate) => candidate === type)
  if (known === undefined) throw new AppError('invalid-input', 'This is not an Outpost signed envelope (no known "type")')
  return known
}

/** Adds one signature to an existing envelope and returns the new envelope bytes. */
export async function addSignatureToEnvelope(envelopeBytes: Uint8Array, keyFile: string, passphrase: string): Promise<Uint8Array> {
  const type = envelopeTypeOf(envelopeBytes)
  const decoded = decodeEnvelope(envelopeBytes, type, 'release')
  if (decoded.verdict === 'reject') throw new AppError('invalid-input', `Cannot sign this envelope: ${decoded.reason}`, { code: decoded.code })
  const key = await loadKey(keyFile, passphrase)
  assertRole(key, type, keyFile)
  const envelope = JSON.parse(decodeUtf8(envelopeBytes) ?? '') as Envelope
  return encodeEnvelope(addSignature(nodeSha256, envelope, key.keyPair))
}

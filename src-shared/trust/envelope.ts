/**
 * The signature envelope (anchors-security.md §10.2): signatures cover the exact payload bytes with domain
 * separation, so there is no canonical-JSON step to get wrong and a signature made for one type of metadata is
 * useless for another.
 *
 *   sig      = Ed25519(sk, "outpost-sig-v1\0" || type || "\0" || payloadBytes)
 *   envelope = {"type": ..., "payload": base64(payloadBytes), "signatures": [{"keyid": hex, "sig": hex}]}
 *
 * Sizes are capped before anything is parsed; the payload itself is parsed only after a threshold verifies
 * (see metadata.ts parsePayload, called by the verify* functions).
 */
import { z } from 'zod'
import { AppError } from '../errors.ts'
import { decodeBase64, decodeHex, decodeUtf8, encodeBase64, encodeHex, encodeUtf8, concatBytes, type Sha256 } from './bytes.ts'
import { keyIdOf, signDetached, verifyStrict, type SigningKeyPair } from './ed25519.ts'
import { reject, type TrustRejection, type TrustStage } from './trustErrors.ts'

export const envelopeTypes = ['root', 'release', 'floor', 'directive', 'report', 'heartbeat'] as const
export type EnvelopeType = (typeof envelopeTypes)[number]

export const SIGNATURE_DOMAIN = 'outpost-sig-v1'

/** Caps on the whole envelope (base64 adds a third): §10.6 and §10.10. */
export const MAX_ENVELOPE_BYTES: Readonly<Record<EnvelopeType, number>> = {
  root: 64 * 1024,
  release: 64 * 1024,
  floor: 16 * 1024,
  directive: 16 * 1024,
  report: 16 * 1024,
  heartbeat: 4 * 1024,
}

/** More entries than any role has keys only costs the verifier time. */
export const MAX_SIGNATURES = 32

export interface SignatureEntry {
  keyid: string
  sig: string
}

/** The wire form. */
export interface Envelope {
  type: EnvelopeType
  payload: string
  signatures: SignatureEntry[]
}

export interface DecodedSignature {
  keyid: string
  signature: Uint8Array
}

/** An envelope whose shape is valid; nothing about its signatures is known yet. */
export interface DecodedEnvelope {
  type: EnvelopeType
  payloadBytes: Uint8Array
  signatures: readonly DecodedSignature[]
}

const EnvelopeSchema = z.strictObject({
  type: z.string().max(32),
  payload: z.string(),
  signatures: z
    .array(
      z.strictObject({
        keyid: z.string().regex(/^[0-9a-f]{64}$/),
        sig: z.string().regex(/^[0-9a-f]{128}$/),
      }),
    )
    .max(MAX_SIGNATURES),
})

/** The bytes a signature covers. */
export function signingInput(type: EnvelopeType, payloadBytes: Uint8Array): Uint8Array {
  return concatBytes(encodeUtf8(`${SIGNATURE_DOMAIN}\0${type}\0`), payloadBytes)
}

export type DecodeEnvelopeResult = { verdict: 'accept'; envelope: DecodedEnvelope } | TrustRejection

/** Size cap, then JSON shape, then type; the payload stays opaque bytes. */
export function decodeEnvelope(bytes: Uint8Array, expectedType: EnvelopeType, stage: TrustStage): DecodeEnvelopeResult {
  const cap = MAX_ENVELOPE_BYTES[expectedType]
  if (bytes.length > cap) return reject(stage, 'oversized', `The ${expectedType} envelope is ${bytes.length} bytes; the cap is ${cap}`)
  const text = decodeUtf8(bytes)
  if (text === undefined) return reject(stage, 'malformed', `The ${expectedType} envelope is not UTF-8 text`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return reject(stage, 'malformed', `The ${expectedType} envelope is not JSON`)
  }
  const parsed = EnvelopeSchema.safeParse(json)
  if (!parsed.success) return reject(stage, 'malformed', `The ${expectedType} envelope does not have the envelope shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  const { type, payload, signatures } = parsed.data
  if (type !== expectedType) {
    return reject(stage, 'wrong-type', `Expected a ${expectedType} envelope, got type "${type.slice(0, 32)}"`)
  }
  const payloadBytes = decodeBase64(payload)
  if (payloadBytes === undefined) return reject(stage, 'malformed', `The ${expectedType} payload is not canonical base64`)
  const decodedSignatures: DecodedSignature[] = []
  for (const entry of signatures) {
    const signature = decodeHex(entry.sig)
    if (signature === undefined) return reject(stage, 'malformed', 'A signature is not lowercase hex')
    decodedSignatures.push({ keyid: entry.keyid, signature })
  }
  return { verdict: 'accept', envelope: { type: expectedType, payloadBytes, signatures: decodedSignatures } }
}

export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const ordered: Envelope = {
    type: envelope.type,
    payload: envelope.payload,
    signatures: envelope.signatures.map((entry) => ({ keyid: entry.keyid, sig: entry.sig })),
  }
  return encodeUtf8(JSON.stringify(ordered))
}

/** Signs with each key; the keyid is computed from the key, never supplied. */
export function createEnvelope(sha256: Sha256, type: EnvelopeType, payloadBytes: Uint8Array, signers: readonly SigningKeyPair[]): Envelope {
  let envelope: Envelope = { type, payload: encodeBase64(payloadBytes), signatures: [] }
  for (const signer of signers) envelope = addSignature(sha256, envelope, signer)
  return envelope
}

/**
 * Adds one signature, for threshold signing by separate people. Signing the same payload twice with one key
 * replaces that key's entry (Ed25519 is deterministic, so it is the same bytes).
 */
export function addSignature(sha256: Sha256, envelope: Envelope, signer: SigningKeyPair): Envelope {
  const payloadBytes = decodeBase64(envelope.payload)
  if (payloadBytes === undefined) throw new AppError('invalid-input', 'The envelope payload is not canonical base64; it was not written by Outpost')
  const keyid = keyIdOf(sha256, signer.publicKey)
  const sig = encodeHex(signDetached(signer.secretKey, signingInput(envelope.type, payloadBytes)))
  return {
    type: envelope.type,
    payload: envelope.payload,
    signatures: [...envelope.signatures.filter((entry) => entry.keyid !== keyid), { keyid, sig }],
  }
}

/** Keys of one role with keyids recomputed from the keys (see roleKeys in verifyRoot.ts). */
export interface TrustedRoleKeys {
  role: string
  threshold: number
  keys: ReadonlyMap<string, Uint8Array>
}

export interface ThresholdResult {
  isMet: boolean
  threshold: number
  /** Distinct keyids of the role whose signature verified; each counts once. */
  countedKeyids: string[]
  /** Keyids of the role with no verifying signature among their entries. */
  invalidKeyids: string[]
  /** Keyids not in the role: ignored. */
  unknownKeyids: string[]
  /** Keyids that appeared more than once. */
  duplicateKeyids: string[]
}

export function checkThreshold(envelope: DecodedEnvelope, trusted: TrustedRoleKeys): ThresholdResult {
  const message = signingInput(envelope.type, envelope.payloadBytes)
  const counted = new Set<string>()
  const invalid = new Set<string>()
  const unknown = new Set<string>()
  const seen = new Set<string>()
  const duplicates = new Set<string>()
  for (const { keyid, signature } of envelope.signatures) {
    if (seen.has(keyid)) duplicates.add(keyid)
    seen.add(keyid)
    const publicKey = trusted.keys.get(keyid)
    if (publicKey === undefined) {
      unknown.add(keyid)
      continue
    }
    if (counted.has(keyid)) continue
    if (verifyStrict(publicKey, message, signature)) {
      counted.add(keyid)
      invalid.delete(keyid)
    } else {
      invalid.add(keyid)
    }
  }
  return {
    isMet: counted.size >= trusted.threshold,
    threshold: trusted.threshold,
    countedKeyids: [...counted].sort(),
    invalidKeyids: [...invalid].sort(),
    unknownKeyids: [...unknown].sort(),
    duplicateKeyids: [...duplicates].sort(),
  }
}

/** The rejection for a threshold that was not met: a forged or damaged signature is named as such. */
export function thresholdRejection(stage: TrustStage, what: string, trusted: TrustedRoleKeys, result: ThresholdResult): TrustRejection {
  if (result.invalidKeyids.length > 0) {
    return reject(
      stage,
      'signature-invalid',
      `A ${trusted.role} signature on the ${what} does not verify (keyid ${result.invalidKeyids[0]?.slice(0, 16) ?? ''}…); valid ${trusted.role} signatures: ${result.countedKeyids.length} of ${trusted.threshold} required`,
    )
  }
  return reject(
    stage,
    'threshold-not-met',
    `The ${what} has ${result.countedKeyids.length} valid ${trusted.role} signature(s) of the ${trusted.threshold} required`,
  )
}

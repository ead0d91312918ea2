/**
 * Strict Ed25519 verification around tweetnacl 1.0.3 (anchors-security.md §10.2, pitfall §12.1).
 *
 * tweetnacl on its own accepts a second signature S+L for a signed message and accepts the identity point as a
 * public key with a signature that "verifies" any message. Before handing a signature to tweetnacl this module
 * rejects: wrong lengths; S >= L; public keys and R values that are small-order (the y-coordinates of libsodium's
 * blacklist, whatever the sign bit) or non-canonical (y >= p); public keys that are not points on the curve or not
 * in the prime-order subgroup. tweetnacl then checks the cofactorless equation, so a verifying (key, R) pair is
 * exactly what honest signing produces.
 */
import nacl from 'tweetnacl'
import { BugError } from '../errors.ts'
import { encodeHex, type Sha256 } from './bytes.ts'

export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
export const SEED_BYTES = 32
export const SECRET_KEY_BYTES = 64

const P = 2n ** 255n - 19n
/** Order of the prime subgroup: 2^252 + 27742317777372353535851937790883648493. */
export const L = 2n ** 252n + 27742317777372353535851937790883648493n
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n
const D2 = (2n * D) % P
const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n
/** y of one pair of order-8 points; the other pair has y = p - Y_ORDER_8. */
const Y_ORDER_8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022n
/**
 * y-coordinates of the 8 small-order points (orders 1, 2, 4, 8). libsodium's blacklist lists the same values
 * (plus their non-canonical spellings p and p+1, which the y < p rule already rejects) and ignores the sign bit.
 */
const SMALL_ORDER_Y: ReadonlySet<bigint> = new Set([0n, 1n, P - 1n, Y_ORDER_8, P - Y_ORDER_8])

function mod(value: bigint): bigint {
  const result = value % P
  return result >= 0n ? result : result + P
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n
  let square = mod(base)
  let remaining = exponent
  while (remaining > 0n) {
    if ((remaining & 1n) === 1n) result = (result * square) % P
    square = (square * square) % P
    remaining >>= 1n
  }
  return result
}

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let value = 0n
  for (let index = bytes.length - 1; index >= 0; index -= 1) value = (value << 8n) | BigInt(bytes[index] ?? 0)
  return value
}

interface EncodedPoint {
  y: bigint
  isXOdd: boolean
}

function splitEncoding(encoding: Uint8Array): EncodedPoint {
  const y = littleEndianToBigInt(encoding) & ((1n << 255n) - 1n)
  return { y, isXOdd: ((encoding[31] ?? 0) & 0x80) !== 0 }
}

/** RFC 8032 §5.1.3 decoding; undefined when y is not the y of a curve point or x = 0 carries sign bit 1. */
function decodePoint({ y, isXOdd }: EncodedPoint): { x: bigint; y: bigint } | undefined {
  const ySquared = (y * y) % P
  const u = mod(ySquared - 1n)
  const v = mod(D * ySquared + 1n)
  const v3 = (v * v * v) % P
  const v7 = (v3 * v3 * v) % P
  let x = (u * v3 * power((u * v7) % P, (P - 5n) / 8n)) % P
  const vxx = (v * x * x) % P
  if (vxx !== u) {
    if (vxx !== mod(-u)) return undefined
    x = (x * SQRT_M1) % P
  }
  if (x === 0n && isXOdd) return undefined
  if ((x & 1n) === 1n) {
    if (!isXOdd) x = P - x
  } else if (isXOdd) {
    x = P - x
  }
  return { x, y }
}

interface ExtendedPoint {
  X: bigint
  Y: bigint
  Z: bigint
  T: bigint
}

/** Complete twisted Edwards addition for a = -1 (Hisil-Wong-Carter-Dawson 2008, "add-2008-hwcd-3"). */
function addPoints(left: ExtendedPoint, right: ExtendedPoint): ExtendedPoint {
  const a = mod((left.Y - left.X) * (right.Y - right.X))
  const b = mod((left.Y + left.X) * (right.Y + right.X))
  const c = mod(left.T * D2 * right.T)
  const d = mod(2n * left.Z * right.Z)
  const e = b - a
  const f = d - c
  const g = d + c
  const h = b + a
  return { X: mod(e * f), Y: mod(g * h), Z: mod(f * g), T: mod(e * h) }
}

function multiplyByL(point: ExtendedPoint): ExtendedPoint {
  let result: ExtendedPoint = { X: 0n, Y: 1n, Z: 1n, T: 0n }
  for (let bit = 252n; bit >= 0n; bit -= 1n) {
    result = addPoints(result, result)
    if (((L >> bit) & 1n) === 1n) result = addPoints(result, point)
  }
  return result
}

function isIdentity(point: ExtendedPoint): boolean {
  return point.X === 0n && point.Y === point.Z
}

export type PublicKeyProblem = 'wrong-length' | 'non-canonical' | 'small-order' | 'not-on-curve' | 'not-in-prime-subgroup'
export type PublicKeyCheck = { ok: true } | { ok: false; problem: PublicKeyProblem }

const keyCheckCache = new Map<string, PublicKeyCheck>()
const KEY_CHECK_CACHE_LIMIT = 1024

function checkPublicKeyUncached(publicKey: Uint8Array): PublicKeyCheck {
  const encoded = splitEncoding(publicKey)
  if (encoded.y >= P) return { ok: false, problem: 'non-canonical' }
  if (SMALL_ORDER_Y.has(encoded.y)) return { ok: false, problem: 'small-order' }
  const point = decodePoint(encoded)
  if (point === undefined) return { ok: false, problem: 'not-on-curve' }
  // Honest keys are multiples of the base point. A key with a torsion component verifies differently under
  // cofactored and cofactorless equations, so it has no place in a trust root.
  const extended = { X: point.x, Y: point.y, Z: 1n, T: (point.x * point.y) % P }
  if (!isIdentity(multiplyByL(extended))) return { ok: false, problem: 'not-in-prime-subgroup' }
  return { ok: true }
}

/** Validates a public key for enrollment and root loading; verifyStrict runs the same check on every call. */
export function checkPublicKey(publicKey: Uint8Array): PublicKeyCheck {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return { ok: false, problem: 'wrong-length' }
  const cacheKey = encodeHex(publicKey)
  const cached = keyCheckCache.get(cacheKey)
  if (cached !== undefined) return cached
  const result = checkPublicKeyUncached(publicKey)
  if (keyCheckCache.size >= KEY_CHECK_CACHE_LIMIT) keyCheckCache.clear()
  keyCheckCache.set(cacheKey, result)
  return result
}

/** R must be a canonical encoding and not small-order; anything else tweetnacl would compare loosely. */
function isAcceptableR(encodedR: Uint8Array): boolean {
  const encoded = splitEncoding(encodedR)
  return encoded.y < P && !SMALL_ORDER_Y.has(encoded.y)
}

/** Strict verification: true only for a signature honest Ed25519 signing by publicKey's owner could produce. */
export function verifyStrict(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false
  if (littleEndianToBigInt(signature.subarray(32, 64)) >= L) return false
  if (!isAcceptableR(signature.subarray(0, 32))) return false
  if (!checkPublicKey(publicKey).ok) return false
  return nacl.sign.detached.verify(message, signature, publicKey)
}

export interface SigningKeyPair {
  publicKey: Uint8Array
  /** tweetnacl layout: 32-byte seed followed by the 32-byte public key. */
  secretKey: Uint8Array
}

/** Deterministic key pair from a 32-byte seed; the caller supplies the randomness (node:crypto in main). */
export function keyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  if (seed.length !== SEED_BYTES) throw new BugError(`An Ed25519 seed is ${SEED_BYTES} bytes, got ${seed.length}`)
  const pair = nacl.sign.keyPair.fromSeed(seed)
  return { publicKey: pair.publicKey, secretKey: pair.secretKey }
}

export function signDetached(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (secretKey.length !== SECRET_KEY_BYTES) throw new BugError(`An Ed25519 secret key is ${SECRET_KEY_BYTES} bytes, got ${secretKey.length}`)
  return nacl.sign.detached(message, secretKey)
}

/** keyid = lowercase hex SHA-256 of the raw 32-byte public key (§10.1). Always recomputed, never read from metadata. */
export function keyIdOf(sha256: Sha256, publicKey: Uint8Array): string {
  return encodeHex(sha256(publicKey))
}

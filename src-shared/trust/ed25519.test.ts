import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import nacl from 'tweetnacl'
import { describe, expect, it } from 'vitest'
import { concatBytes, decodeHex, encodeHex } from './bytes.ts'
import { checkPublicKey, keyIdOf, keyPairFromSeed, L, signDetached, verifyStrict } from './ed25519.ts'
import {
  addScalarL,
  bigIntToLittleEndian,
  encodeY,
  littleEndianToBigInt,
  nonCanonicalEncodings,
  P,
  probeMessage,
  rfc8032Vectors,
  smallOrderYs,
} from './testing/ed25519Cases.ts'

const nobleStrict = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  ed25519.verify(signature, message, publicKey, { zip215: false })

/** Deterministic pseudo-random bytes (xorshift), so a failing case can be replayed. */
function createRandom(seed: number) {
  let state = seed >>> 0 || 1
  const next = (): number => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return state >>> 0
  }
  return {
    bytes(length: number): Uint8Array {
      const output = new Uint8Array(length)
      for (let index = 0; index < length; index += 1) output[index] = next() & 0xff
      return output
    },
    below(limit: number): number {
      return next() % limit
    },
  }
}

const mod = (value: bigint, modulus: bigint): bigint => ((value % modulus) + modulus) % modulus
const challenge = (encodedR: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint =>
  mod(littleEndianToBigInt(sha512(concatBytes(encodedR, publicKey, message))), L)

/** A signature made with the noble reference signer (standard, deterministic Ed25519). */
function honest(seed: Uint8Array, message: Uint8Array) {
  return { publicKey: ed25519.getPublicKey(seed), message, signature: ed25519.sign(message, seed) }
}

describe('strict Ed25519 verification', () => {
  it('accepts the RFC 8032 test vectors 1-3 and signs them identically', () => {
    for (const vector of rfc8032Vectors) {
      const seed = decodeHex(vector.seed) ?? new Uint8Array()
      const message = decodeHex(vector.message) ?? new Uint8Array()
      const pair = keyPairFromSeed(seed)
      expect(encodeHex(pair.publicKey), vector.name).toBe(vector.publicKey)
      expect(encodeHex(signDetached(pair.secretKey, message)), vector.name).toBe(vector.signature)
      expect(verifyStrict(pair.publicKey, message, decodeHex(vector.signature) ?? new Uint8Array()), vector.name).toBe(true)
    }
  })

  it('rejects the S+L twin of a valid signature that plain tweetnacl accepts', () => {
    const { publicKey, message, signature } = honest(new Uint8Array(32).fill(3), probeMessage)
    const twin = addScalarL(signature, 1n)
    expect(nacl.sign.detached.verify(message, twin, publicKey)).toBe(true)
    expect(verifyStrict(publicKey, message, signature)).toBe(true)
    expect(verifyStrict(publicKey, message, twin)).toBe(false)
  })

  it('rejects the identity key with R = identity and S = 0, which plain tweetnacl accepts for any message', () => {
    const identity = encodeY(1n, false)
    const signature = concatBytes(identity, new Uint8Array(32))
    expect(nacl.sign.detached.verify(probeMessage, signature, identity)).toBe(true)
    expect(verifyStrict(identity, probeMessage, signature)).toBe(false)
    expect(checkPublicKey(identity)).toEqual({ ok: false, problem: 'small-order' })
  })

  it('rejects R = identity with S = k·a, a non-standard signature only the key owner can make, which plain tweetnacl accepts', () => {
    const a = 123456789123456789123456789n
    const publicKey = ed25519.Point.BASE.multiply(a).toBytes()
    const identity = encodeY(1n, false)
    const signature = concatBytes(identity, bigIntToLittleEndian(mod(challenge(identity, publicKey, probeMessage) * a, L)))
    expect(nacl.sign.detached.verify(probeMessage, signature, publicKey)).toBe(true)
    expect(checkPublicKey(publicKey)).toEqual({ ok: true })
    expect(verifyStrict(publicKey, probeMessage, signature)).toBe(false)
  })

  it('rejects a small-order key with a crafted signature (mixed-order R) that plain tweetnacl accepts', () => {
    const torsion = ed25519.Point.fromBytes(decodeHex(ED25519_TORSION_SUBGROUP[1] ?? '') ?? new Uint8Array())
    const publicKey = torsion.toBytes()
    let found: Uint8Array | undefined
    // R = sB − jT verifies when the challenge k ≡ j (mod 8); about one try in eight succeeds.
    for (let attempt = 1n; found === undefined && attempt < 400n; attempt += 1n) {
      const s = attempt * 7919n
      for (let j = 0n; j < 8n && found === undefined; j += 1n) {
        const candidateR = ed25519.Point.BASE.multiply(s).subtract(j === 0n ? ed25519.Point.ZERO : torsion.multiply(j)).toBytes()
        if (mod(challenge(candidateR, publicKey, probeMessage), 8n) === j) found = concatBytes(candidateR, bigIntToLittleEndian(s))
      }
    }
    if (found === undefined) throw new Error('no crafted signature found')
    expect(nacl.sign.detached.verify(probeMessage, found, publicKey)).toBe(true)
    expect(verifyStrict(publicKey, probeMessage, found)).toBe(false)
  })

  it('rejects wrong lengths and the all-zero signature', () => {
    const { publicKey, message, signature } = honest(new Uint8Array(32).fill(4), probeMessage)
    expect(verifyStrict(publicKey.subarray(0, 31), message, signature)).toBe(false)
    expect(verifyStrict(concatBytes(publicKey, new Uint8Array(1)), message, signature)).toBe(false)
    expect(verifyStrict(publicKey, message, signature.subarray(0, 63))).toBe(false)
    expect(verifyStrict(publicKey, message, concatBytes(signature, new Uint8Array(1)))).toBe(false)
    expect(verifyStrict(publicKey, message, new Uint8Array(64))).toBe(false)
    expect(checkPublicKey(new Uint8Array(33))).toEqual({ ok: false, problem: 'wrong-length' })
  })

  it('rejects every small-order encoding (libsodium blacklist, both sign bits) as a key and as R', () => {
    const { publicKey, message, signature } = honest(new Uint8Array(32).fill(5), probeMessage)
    let cases = 0
    for (const y of smallOrderYs) {
      for (const isXOdd of [false, true]) {
        const encoding = encodeY(y, isXOdd)
        expect(checkPublicKey(encoding).ok).toBe(false)
        expect(verifyStrict(encoding, message, concatBytes(encoding, new Uint8Array(32)))).toBe(false)
        expect(verifyStrict(publicKey, message, concatBytes(encoding, signature.subarray(32)))).toBe(false)
        cases += 1
      }
    }
    // The list covers every point of noble's torsion subgroup.
    for (const torsion of ED25519_TORSION_SUBGROUP) {
      expect(checkPublicKey(decodeHex(torsion) ?? new Uint8Array())).toEqual({ ok: false, problem: 'small-order' })
    }
    expect(cases).toBe(14)
  })

  it('rejects every non-canonical encoding (y >= p, both sign bits) as a key and as R', () => {
    const { publicKey, message, signature } = honest(new Uint8Array(32).fill(6), probeMessage)
    const encodings = nonCanonicalEncodings()
    expect(encodings).toHaveLength(38)
    for (const encoding of encodings) {
      expect(checkPublicKey(encoding)).toEqual({ ok: false, problem: 'non-canonical' })
      expect(verifyStrict(publicKey, message, concatBytes(encoding, signature.subarray(32)))).toBe(false)
      expect(nobleStrict(encoding, message, signature)).toBe(false)
    }
  })

  it('rejects keys off the curve and keys with a torsion component', () => {
    let offCurve = 0
    for (let y = 2n; offCurve < 5; y += 1n) {
      const encoding = encodeY(y, false)
      let isOnCurve = true
      try {
        ed25519.Point.fromBytes(encoding)
      } catch {
        isOnCurve = false
      }
      if (!isOnCurve) {
        expect(checkPublicKey(encoding)).toEqual({ ok: false, problem: 'not-on-curve' })
        offCurve += 1
      }
    }
    const base = ed25519.Point.fromBytes(ed25519.getPublicKey(new Uint8Array(32).fill(8)))
    for (const torsion of ED25519_TORSION_SUBGROUP.slice(1)) {
      const mixed = base.add(ed25519.Point.fromBytes(decodeHex(torsion) ?? new Uint8Array())).toBytes()
      expect(checkPublicKey(mixed)).toEqual({ ok: false, problem: 'not-in-prime-subgroup' })
    }
    expect(checkPublicKey(base.toBytes())).toEqual({ ok: true })
  })

  it('computes keyids as the hex SHA-256 of the raw key', () => {
    const pair = keyPairFromSeed(new Uint8Array(32).fill(9))
    expect(keyIdOf(sha256, pair.publicKey)).toBe(encodeHex(sha256(pair.publicKey)))
    expect(keyIdOf(sha256, pair.publicKey)).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('differential testing against @noble/curves (zip215: false)', () => {
  // Cases where both strict verifiers must agree exactly. Torsion cases are below: there noble's cofactored
  // equation accepts more than our cofactorless one, and only "ours accepts ⇒ noble accepts" must hold.
  it('agrees on 250 honest signatures and on 750 single-bit mutations of them', { timeout: 240_000 }, () => {
    const random = createRandom(0x5eed)
    let agreed = 0
    let accepted = 0
    for (let index = 0; index < 250; index += 1) {
      const { publicKey, message, signature } = honest(random.bytes(32), random.bytes(random.below(200)))
      expect(verifyStrict(publicKey, message, signature)).toBe(true)
      expect(nobleStrict(publicKey, message, signature)).toBe(true)
      accepted += 1
      for (let mutation = 0; mutation < 3; mutation += 1) {
        const target = random.below(3)
        const mutatedKey = publicKey.slice()
        const mutatedMessage = message.length === 0 && target === 1 ? new Uint8Array([1]) : message.slice()
        const mutatedSignature = signature.slice()
        const bit = 1 << random.below(8)
        const flip = (bytes: Uint8Array, index: number): void => {
          bytes[index] = (bytes[index] ?? 0) ^ bit
        }
        if (target === 0) flip(mutatedKey, random.below(32))
        if (target === 1 && message.length > 0) flip(mutatedMessage, random.below(message.length))
        if (target === 2) flip(mutatedSignature, random.below(64))
        const ours = verifyStrict(mutatedKey, mutatedMessage, mutatedSignature)
        expect(ours).toBe(nobleStrict(mutatedKey, mutatedMessage, mutatedSignature))
        expect(ours).toBe(false)
        agreed += 1
      }
    }
    expect(accepted + agreed).toBe(1000)
  })

  it('agrees on malleated S (S + kL, S with high bits set) and on swapped keys and messages', { timeout: 240_000 }, () => {
    const random = createRandom(0xabc)
    let cases = 0
    for (let index = 0; index < 100; index += 1) {
      const first = honest(random.bytes(32), random.bytes(32))
      const second = honest(random.bytes(32), random.bytes(32))
      const variants: Array<[Uint8Array, Uint8Array, Uint8Array]> = [
        [first.publicKey, first.message, addScalarL(first.signature, 1n)],
        [first.publicKey, first.message, addScalarL(first.signature, BigInt(1 + random.below(14)))],
        [first.publicKey, first.message, concatBytes(first.signature.subarray(0, 63), new Uint8Array([(first.signature[63] ?? 0) | 0xf0]))],
        [second.publicKey, first.message, first.signature],
        [first.publicKey, second.message, first.signature],
        [first.publicKey, first.message, concatBytes(second.signature.subarray(0, 32), first.signature.subarray(32))],
      ]
      for (const [publicKey, message, signature] of variants) {
        expect(verifyStrict(publicKey, message, signature)).toBe(nobleStrict(publicKey, message, signature))
        expect(verifyStrict(publicKey, message, signature)).toBe(false)
        cases += 1
      }
    }
    expect(cases).toBe(600)
  })

  it('agrees on small-order keys with crafted signatures (noble rejects small-order A too)', () => {
    let cases = 0
    for (const torsion of ED25519_TORSION_SUBGROUP) {
      const key = decodeHex(torsion) ?? new Uint8Array()
      for (const r of ED25519_TORSION_SUBGROUP) {
        const signature = concatBytes(decodeHex(r) ?? new Uint8Array(), new Uint8Array(32))
        expect(verifyStrict(key, probeMessage, signature)).toBe(nobleStrict(key, probeMessage, signature))
        expect(verifyStrict(key, probeMessage, signature)).toBe(false)
        cases += 1
      }
    }
    expect(cases).toBe(64)
  })

  it('is never more permissive than noble on torsion-crafted signatures, and rejects them all', () => {
    const random = createRandom(0x7075)
    const torsionPoints = ED25519_TORSION_SUBGROUP.slice(1).map((hex) => ed25519.Point.fromBytes(decodeHex(hex) ?? new Uint8Array()))
    let nobleAccepted = 0
    let cases = 0
    for (let index = 0; index < 40; index += 1) {
      const a = mod(littleEndianToBigInt(random.bytes(40)), L - 1n) + 1n
      const torsion = torsionPoints[index % torsionPoints.length] ?? ed25519.Point.ZERO
      const message = random.bytes(16)
      // (1) Honest key, small-order R, S = k·a: the cofactored equation holds, the cofactorless one does not.
      const publicKey = ed25519.Point.BASE.multiply(a).toBytes()
      const smallR = torsion.toBytes()
      const s1 = mod(challenge(smallR, publicKey, message) * a, L)
      const smallRSignature = concatBytes(smallR, bigIntToLittleEndian(s1))
      // (2) Key with a torsion component, signed with its prime-order part.
      const mixedKey = ed25519.Point.BASE.multiply(a).add(torsion).toBytes()
      const r = mod(littleEndianToBigInt(random.bytes(40)), L - 1n) + 1n
      const encodedR = ed25519.Point.BASE.multiply(r).toBytes()
      const s2 = mod(r + challenge(encodedR, mixedKey, message) * a, L)
      const mixedSignature = concatBytes(encodedR, bigIntToLittleEndian(s2))
      for (const [key, signature] of [
        [publicKey, smallRSignature],
        [mixedKey, mixedSignature],
      ] as const) {
        const ours = verifyStrict(key, message, signature)
        const noble = nobleStrict(key, message, signature)
        if (ours) expect(noble).toBe(true)
        expect(ours).toBe(false)
        if (noble) nobleAccepted += 1
        cases += 1
      }
    }
    // Noble's cofactored check accepts every one of them: the cases really exercise the difference.
    expect(nobleAccepted).toBe(cases)
  })

  it('agrees on the y >= p field elements that noble can be asked about', () => {
    const { message, signature } = honest(new Uint8Array(32).fill(10), probeMessage)
    for (let y = P; y < P + 19n; y += 1n) {
      const encoding = encodeY(y, false)
      expect(verifyStrict(encoding, message, signature)).toBe(nobleStrict(encoding, message, signature))
    }
  })
})

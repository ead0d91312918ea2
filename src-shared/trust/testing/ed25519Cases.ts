/**
 * Crafted Ed25519 inputs shared by the differential tests (against @noble/curves here and against libsodium
 * through python3-nacl in the keystore tests). Each case says whether a strict verifier must accept it.
 * Point arithmetic comes from the caller, so this file needs no test-only dependency.
 */
import { concatBytes, encodeUtf8 } from '../bytes.ts'
import { L } from '../ed25519.ts'

export const P = 2n ** 255n - 19n

export function bigIntToLittleEndian(value: bigint, length = 32): Uint8Array {
  const bytes = new Uint8Array(length)
  let remaining = value
  for (let index = 0; index < length; index += 1) {
    bytes[index] = Number(remaining & 0xffn)
    remaining >>= 8n
  }
  return bytes
}

export function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let value = 0n
  for (let index = bytes.length - 1; index >= 0; index -= 1) value = (value << 8n) | BigInt(bytes[index] ?? 0)
  return value
}

/** A point encoding from a y-coordinate (which may be ≥ p) and a sign bit. */
export function encodeY(y: bigint, isXOdd: boolean): Uint8Array {
  const bytes = bigIntToLittleEndian(y)
  if (isXOdd) bytes[31] = (bytes[31] ?? 0) | 0x80
  return bytes
}

/** The 8 small-order points as libsodium's blacklist names them, plus their non-canonical y = p and y = p+1 spellings. */
export const smallOrderYs: readonly bigint[] = [
  0n,
  1n,
  P - 1n,
  2707385501144840649318225287225658788936804267575313519463743609750303402022n,
  P - 2707385501144840649318225287225658788936804267575313519463743609750303402022n,
  P,
  P + 1n,
]

/** Every encoding whose y is ≥ p (y < 2^255), with both sign bits. */
export function nonCanonicalEncodings(): Uint8Array[] {
  const encodings: Uint8Array[] = []
  for (let y = P; y < 2n ** 255n; y += 1n) {
    encodings.push(encodeY(y, false), encodeY(y, true))
  }
  return encodings
}

export function addScalarL(signature: Uint8Array, multiple: bigint): Uint8Array {
  const s = littleEndianToBigInt(signature.subarray(32, 64)) + multiple * L
  return concatBytes(signature.subarray(0, 32), bigIntToLittleEndian(s))
}

export const rfc8032Vectors = [
  {
    name: 'RFC 8032 §7.1 TEST 1',
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'RFC 8032 §7.1 TEST 2',
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'RFC 8032 §7.1 TEST 3',
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
] as const

export const probeMessage = encodeUtf8('outpost strict verification probe')

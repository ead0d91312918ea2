/**
 * Byte codecs for signed metadata, written out here so they behave identically in Node, the agent and the browser.
 * Decoders are strict (one accepted spelling per byte string): a lenient decoder would let two different texts
 * name the same bytes, and nothing downstream should have to reason about that.
 */

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const BASE64_INDEX: ReadonlyMap<number, number> = new Map(
  Array.from(BASE64_ALPHABET, (character, index) => [character.charCodeAt(0), index] as const),
)
const PAD = '='.charCodeAt(0)

/** Standard base64 (RFC 4648 §4) with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  let text = ''
  let index = 0
  for (; index + 2 < bytes.length; index += 3) {
    const triple = ((bytes[index] ?? 0) << 16) | ((bytes[index + 1] ?? 0) << 8) | (bytes[index + 2] ?? 0)
    text +=
      BASE64_ALPHABET.charAt(triple >>> 18) +
      BASE64_ALPHABET.charAt((triple >>> 12) & 63) +
      BASE64_ALPHABET.charAt((triple >>> 6) & 63) +
      BASE64_ALPHABET.charAt(triple & 63)
  }
  const remaining = bytes.length - index
  if (remaining === 1) {
    const first = bytes[index] ?? 0
    text += BASE64_ALPHABET.charAt(first >>> 2) + BASE64_ALPHABET.charAt((first & 3) << 4) + '=='
  } else if (remaining === 2) {
    const pair = ((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0)
    text +=
      BASE64_ALPHABET.charAt(pair >>> 10) +
      BASE64_ALPHABET.charAt((pair >>> 4) & 63) +
      BASE64_ALPHABET.charAt((pair & 15) << 2) +
      '='
  }
  return text
}

/**
 * Strict standard base64: padded, no whitespace, no URL-safe letters, and the unused low bits of the last
 * character must be zero. Returns undefined for anything else.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined
  let padding = 0
  if (text.length > 0 && text.charCodeAt(text.length - 1) === PAD) {
    padding = text.charCodeAt(text.length - 2) === PAD ? 2 : 1
  }
  const output = new Uint8Array((text.length / 4) * 3 - padding)
  let outputIndex = 0
  for (let index = 0; index < text.length; index += 4) {
    const isLastGroup = index + 4 === text.length
    const values = [0, 0, 0, 0]
    for (let offset = 0; offset < 4; offset += 1) {
      const code = text.charCodeAt(index + offset)
      if (code === PAD && isLastGroup && offset >= 4 - padding) continue
      const value = BASE64_INDEX.get(code)
      if (value === undefined) return undefined
      values[offset] = value
    }
    const [a = 0, b = 0, c = 0, d = 0] = values
    const group = (a << 18) | (b << 12) | (c << 6) | d
    output[outputIndex++] = group >>> 16
    if (isLastGroup && padding === 2) {
      if ((group & 0xffff) !== 0) return undefined
      break
    }
    output[outputIndex++] = (group >>> 8) & 0xff
    if (isLastGroup && padding === 1) {
      if ((group & 0xff) !== 0) return undefined
      break
    }
    output[outputIndex++] = group & 0xff
  }
  return output
}

const HEX_DIGITS = '0123456789abcdef'

/** Lowercase hex. */
export function encodeHex(bytes: Uint8Array): string {
  let text = ''
  for (const byte of bytes) text += HEX_DIGITS.charAt(byte >>> 4) + HEX_DIGITS.charAt(byte & 15)
  return text
}

/** Lowercase hex only (key ids and digests have one spelling). Returns undefined for anything else. */
export function decodeHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text)) return undefined
  const output = new Uint8Array(text.length / 2)
  for (let index = 0; index < output.length; index += 1) output[index] = Number.parseInt(text.slice(index * 2, index * 2 + 2), 16)
  return output
}

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text)
}

/** Returns undefined for bytes that are not valid UTF-8 (never substitutes U+FFFD). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes)
  } catch {
    return undefined
  }
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const output = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    output.set(part, offset)
    offset += part.length
  }
  return output
}

/** Equality without an early exit, for comparing digests and secrets. */
export function bytesEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false
  let difference = 0
  for (let index = 0; index < left.length; index += 1) difference |= (left[index] ?? 0) ^ (right[index] ?? 0)
  return difference === 0
}

/** SHA-256 supplied by the caller (node:crypto in main and the agent), so this folder stays environment-neutral. */
export type Sha256 = (bytes: Uint8Array) => Uint8Array

export function sha256Hex(sha256: Sha256, bytes: Uint8Array): string {
  return encodeHex(sha256(bytes))
}

import { describe, expect, it } from 'vitest'
import { bytesEqual, concatBytes, decodeBase64, decodeHex, decodeUtf8, encodeBase64, encodeHex, encodeUtf8 } from './bytes.ts'

describe('base64', () => {
  it('round-trips every length 0..70 and matches the platform encoder', () => {
    for (let length = 0; length <= 70; length += 1) {
      const bytes = Uint8Array.from({ length }, (_, index) => (index * 37 + length) & 0xff)
      const text = encodeBase64(bytes)
      expect(text).toBe(btoa(String.fromCharCode(...bytes)))
      expect(decodeBase64(text)).toEqual(bytes)
    }
  })

  it('refuses every spelling but the canonical one', () => {
    expect(decodeBase64('QQ==')).toEqual(new Uint8Array([65]))
    for (const text of ['QQ', 'QQ=', 'QR==', 'QUI=x', 'QUJ=', 'Q Q==', 'QQ==\n', '-_8=', '====', 'Q===', '=QQ=', 'QQ=A', 'QUJD====']) {
      expect(decodeBase64(text), text).toBeUndefined()
    }
  })

  it('decodes at most one spelling per byte string (random candidates re-encode to themselves)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='
    let state = 12345
    let decodedCount = 0
    for (let trial = 0; trial < 5000; trial += 1) {
      let text = ''
      const length = 4 * (1 + (trial % 4))
      for (let index = 0; index < length; index += 1) {
        state = (state * 1103515245 + 12345) & 0x7fffffff
        text += alphabet.charAt(index >= length - 2 && state % 3 === 0 ? 64 : state % 64)
      }
      const bytes = decodeBase64(text)
      if (bytes !== undefined) {
        decodedCount += 1
        expect(encodeBase64(bytes)).toBe(text)
      }
    }
    expect(decodedCount).toBeGreaterThan(1000)
  })
})

describe('hex', () => {
  it('round-trips and accepts lowercase only', () => {
    const bytes = new Uint8Array([0, 1, 127, 128, 254, 255])
    expect(encodeHex(bytes)).toBe('00017f80feff')
    expect(decodeHex('00017f80feff')).toEqual(bytes)
    for (const text of ['0', 'AB', '0g', ' 00', '0x00']) expect(decodeHex(text), text).toBeUndefined()
  })
})

describe('utf8 and bytes', () => {
  it('refuses invalid UTF-8 instead of substituting', () => {
    expect(decodeUtf8(encodeUtf8('outpost ✓'))).toBe('outpost ✓')
    expect(decodeUtf8(new Uint8Array([0xc3, 0x28]))).toBeUndefined()
  })

  it('concatenates and compares', () => {
    expect(concatBytes(new Uint8Array([1]), new Uint8Array(), new Uint8Array([2, 3]))).toEqual(new Uint8Array([1, 2, 3]))
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true)
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false)
    expect(bytesEqual(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false)
  })
})

import { describe, expect, it } from 'vitest'
import { createMqttFrameScanner } from './packetSizeGuard.ts'

/** A PUBLISH-typed packet with `remaining` body bytes, its remaining length encoded per MQTT 3.1.1 §2.2.3. */
function aPacket(remaining: number): Uint8Array {
  const length: number[] = []
  let value = remaining
  do {
    let byte = value % 128
    value = Math.floor(value / 128)
    if (value > 0) byte |= 0x80
    length.push(byte)
  } while (value > 0)
  return Uint8Array.from([0x30, ...length, ...new Array<number>(remaining).fill(7)])
}

describe('MQTT frame scanner', () => {
  it('follows packet boundaries even when every byte arrives alone', () => {
    const scanner = createMqttFrameScanner(() => 200)
    const stream = [...aPacket(0), ...aPacket(127), ...aPacket(128), ...aPacket(200)]
    for (const byte of stream) expect(scanner.scan(Uint8Array.of(byte))).toBeUndefined()
  })

  it('stops at the first packet above the cap, before its body arrives', () => {
    const scanner = createMqttFrameScanner(() => 200)
    expect(scanner.scan(aPacket(200))).toBeUndefined()
    expect(scanner.scan(aPacket(201).subarray(0, 3))).toMatch(/201 bytes exceeds the 200 byte cap/)
  })

  it('rejects a remaining length longer than four bytes', () => {
    const scanner = createMqttFrameScanner(() => Number.MAX_SAFE_INTEGER)
    expect(scanner.scan(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe('malformed remaining length')
  })
})

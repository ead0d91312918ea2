/**
 * Caps the size of MQTT packets a connection may send to the embedded broker. aedes has no such option, so the guard
 * reads each packet's fixed header (MQTT 3.1.1 §2.2.3 remaining length) as bytes arrive and ends the connection
 * before a large packet is buffered. anchors-security.md §10.10: 256 KiB, like mosquitto's message_size_limit.
 */
import { Duplex, Transform, pipeline, type TransformCallback } from 'node:stream'
import type { Socket } from 'node:net'
import { AppError } from '../../../src-shared/errors.ts'

/** Tracks packet boundaries across chunks; `scan` returns a reason when the stream must be cut. */
export function createMqttFrameScanner(maxRemainingBytes: () => number) {
  let phase: 'header' | 'length' | 'body' = 'header'
  let remainingLength = 0
  let multiplier = 1
  let lengthByteCount = 0
  let bodyLeft = 0
  return {
    scan(chunk: Uint8Array): string | undefined {
      let i = 0
      while (i < chunk.length) {
        if (phase === 'header') {
          i++
          phase = 'length'
          remainingLength = 0
          multiplier = 1
          lengthByteCount = 0
        } else if (phase === 'length') {
          const byte = chunk[i++] ?? 0
          remainingLength += (byte & 0x7f) * multiplier
          multiplier *= 128
          lengthByteCount++
          if (byte & 0x80) {
            if (lengthByteCount === 4) return 'malformed remaining length'
            continue
          }
          if (remainingLength > maxRemainingBytes()) return `packet of ${remainingLength} bytes exceeds the ${maxRemainingBytes()} byte cap`
          bodyLeft = remainingLength
          phase = bodyLeft === 0 ? 'header' : 'body'
        } else {
          const take = Math.min(bodyLeft, chunk.length - i)
          i += take
          bodyLeft -= take
          if (bodyLeft === 0) phase = 'header'
        }
      }
      return undefined
    },
  }
}

export interface GuardedConnection {
  /** What aedes reads from and writes to. */
  stream: Duplex
  /** Raises or lowers the cap for this connection (the control center may send larger chunk lists). */
  setMaxPacketBytes(bytes: number): void
}

export function guardConnection(socket: Socket, maxPacketBytes: number, onReject: (reason: string) => void): GuardedConnection {
  let cap = maxPacketBytes
  const scanner = createMqttFrameScanner(() => cap)
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const reason = scanner.scan(chunk)
      if (reason === undefined) return callback(null, chunk)
      onReject(reason)
      callback(new AppError('message-too-large', `MQTT ${reason}`))
    },
  })
  // pipeline destroys the socket when the guard fails, which closes the connection without a reply.
  pipeline(socket, guard, () => {})
  return {
    stream: Duplex.from({ readable: guard, writable: socket }),
    setMaxPacketBytes(bytes) {
      cap = bytes
    },
  }
}

import type { RpcMessage, Transport } from './envelope.ts'

/**
 * Two connected in-process transports for tests. Messages are deep-copied through JSON, as the
 * WebSocket does, so a test catches values that would not survive the wire.
 */
export function memoryTransportPair(): [Transport, Transport] {
  const sides = [new Set<(message: RpcMessage) => void>(), new Set<(message: RpcMessage) => void>()] as const
  const make = (own: 0 | 1): Transport => ({
    send(message) {
      const copy = JSON.parse(JSON.stringify(message)) as RpcMessage
      queueMicrotask(() => sides[own === 0 ? 1 : 0].forEach((listener) => listener(copy)))
    },
    onMessage(listener) {
      sides[own].add(listener)
      return () => sides[own].delete(listener)
    },
  })
  return [make(0), make(1)]
}

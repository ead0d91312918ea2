import type { RawData, WebSocket } from 'ws'
import { isRpcMessage, MAX_RPC_MESSAGE_BYTES, type RpcMessage, type Transport } from '../../src-shared/rpc/envelope.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'

export interface SocketTransportOptions {
  /** Frames larger than this are dropped on receipt and refused on send. */
  maxMessageBytes?: number
  log: Logger
}

export interface SocketTransport extends Transport {
  /** Incoming frames dropped because they were binary, too large, not JSON or not an RpcMessage. */
  readonly droppedFrameCount: number
}

/**
 * A Transport over one open `ws` socket, used by both sides: the headless server per connection and the CLI client.
 * The peer is untrusted, so every frame is parsed and shape-checked; a bad frame is dropped and counted, never fatal.
 */
export function createSocketTransport(socket: WebSocket, options: SocketTransportOptions): SocketTransport {
  const maxMessageBytes = options.maxMessageBytes ?? MAX_RPC_MESSAGE_BYTES
  const listeners = new Set<(message: RpcMessage) => void>()
  let droppedFrameCount = 0

  const drop = (reason: string, fields: Record<string, unknown> = {}) => {
    droppedFrameCount += 1
    // Only the first few are logged so a misbehaving peer cannot flood the log.
    if (droppedFrameCount <= 5) options.log.warn(`Dropped an RPC frame: ${reason}`, { ...fields, droppedFrameCount })
  }

  socket.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) return drop('binary frame')
    const text = rawDataToString(data)
    if (Buffer.byteLength(text) > maxMessageBytes) return drop('frame too large', { maxMessageBytes })
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return drop('not JSON')
    }
    if (!isRpcMessage(value)) return drop('not an RPC message')
    for (const listener of listeners) listener(value)
  })

  return {
    send(message) {
      if (socket.readyState !== socket.OPEN) return
      let text = JSON.stringify(message)
      if (Buffer.byteLength(text) > maxMessageBytes && message.kind === 'result') {
        // The peer would drop the frame and wait forever; answer the call with an error it can show instead.
        text = JSON.stringify({
          kind: 'result',
          id: message.id,
          ok: false,
          error: { code: 'message-too-large', message: `The answer exceeds ${maxMessageBytes} bytes` },
        } satisfies RpcMessage)
      } else if (Buffer.byteLength(text) > maxMessageBytes) {
        options.log.warn('Refused to send an RPC frame larger than the limit', { kind: message.kind, maxMessageBytes })
        return
      }
      socket.send(text)
    },
    onMessage(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    get droppedFrameCount() {
      return droppedFrameCount
    },
  }
}

function rawDataToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8')
  return data.toString('utf8')
}

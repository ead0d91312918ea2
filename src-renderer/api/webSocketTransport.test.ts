import { describe, expect, it } from 'vitest'
import { AppError } from '../../src-shared/errors.ts'
import type { RpcMessage } from '../../src-shared/rpc/envelope.ts'
import type { ConnectionState } from './connection.ts'
import { createOutpostClient } from './outpostClient.ts'
import {
  createWebSocketConnection,
  MISSING_TOKEN_REASON,
  webSocketUrlFor,
  type WebSocketConnectionOptions,
  type WebSocketLike,
} from './webSocketTransport.ts'

/** A WebSocket the test opens, feeds and closes by hand. */
class ScriptedSocket implements WebSocketLike {
  readyState = 0
  onopen: ((event: Event) => void) | null = null
  onclose: ((event: CloseEvent) => void) | null = null
  onmessage: ((event: MessageEvent) => void) | null = null
  onerror: ((event: Event) => void) | null = null
  readonly sent: RpcMessage[] = []
  readonly url: string
  readonly protocols: string[]
  constructor(url: string, protocols: string[]) {
    this.url = url
    this.protocols = protocols
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as RpcMessage)
  }
  close() {
    this.readyState = 3
  }
  open() {
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }
  receive(message: unknown) {
    this.onmessage?.({ data: typeof message === 'string' ? message : JSON.stringify(message) } as MessageEvent)
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3
    this.onclose?.({ code, reason } as CloseEvent)
  }
}

function harness(overrides: Partial<WebSocketConnectionOptions> = {}) {
  const sockets: ScriptedSocket[] = []
  const timers: { run: () => void; delayMs: number }[] = []
  const states: ConnectionState[] = []
  const connection = createWebSocketConnection({
    url: 'ws://127.0.0.1:4000/rpc',
    token: 'secret-token',
    createSocket: (url, protocols) => {
      const socket = new ScriptedSocket(url, protocols)
      sockets.push(socket)
      return socket
    },
    setTimer: (run, delayMs) => timers.push({ run, delayMs }),
    clearTimer: () => {},
    random: () => 0.5,
    ...overrides,
  })
  connection.onStateChange((state) => states.push(state))
  const socketAt = (index: number) => {
    const socket = sockets[index]
    if (!socket) throw new Error(`no socket #${index}`)
    return socket
  }
  return { connection, sockets, socketAt, timers, states }
}

describe('webSocketUrlFor', () => {
  it('uses ws: for http pages and wss: for https pages, on the page host', () => {
    expect(webSocketUrlFor({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/rpc')
    expect(webSocketUrlFor({ protocol: 'https:', host: 'outpost.example' })).toBe('wss://outpost.example/rpc')
  })
})

describe('createWebSocketConnection', () => {
  it('offers the rpc subprotocol and the token as a second subprotocol', () => {
    const { socketAt, connection } = harness()
    expect(socketAt(0).url).toBe('ws://127.0.0.1:4000/rpc')
    expect(socketAt(0).protocols).toEqual(['outpost.v1', 'outpost.token.secret-token'])
    expect(connection.getState()).toEqual({ status: 'connecting', attempt: 0 })
    socketAt(0).open()
    expect(connection.getState()).toEqual({ status: 'connected' })
  })

  it('does not connect without a token and says where to get one', () => {
    const { sockets, connection, timers } = harness({ token: null })
    expect(sockets).toHaveLength(0)
    expect(timers).toHaveLength(0)
    expect(connection.getState()).toEqual({ status: 'disconnected', reason: MISSING_TOKEN_REASON, retryInMs: null })
    expect(MISSING_TOKEN_REASON).toContain('outpost serve')
  })

  it('reports a token the browser refuses as a subprotocol instead of throwing', () => {
    const { connection } = harness({
      createSocket: () => {
        throw new SyntaxError('invalid subprotocol')
      },
    })
    expect(connection.getState()).toMatchObject({ status: 'disconnected', retryInMs: null })
  })

  it('carries calls and results as JSON and ignores frames that are not RPC messages', async () => {
    const { connection, socketAt } = harness()
    const client = createOutpostClient(connection.transport)
    socketAt(0).open()
    const answer = client.call('devices.list', {})
    const call = socketAt(0).sent[0]
    expect(call).toMatchObject({ kind: 'call', method: 'devices.list', input: {} })
    socketAt(0).receive('not json')
    socketAt(0).receive({ kind: 'nonsense' })
    socketAt(0).receive({ kind: 'result', id: call?.kind === 'call' ? call.id : -1, ok: true, value: [] })
    await expect(answer).resolves.toEqual([])
  })

  it('fails in-flight calls with unavailable when the socket closes', async () => {
    const { connection, socketAt } = harness()
    const client = createOutpostClient(connection.transport)
    socketAt(0).open()
    const answer = client.call('system.info', {})
    socketAt(0).drop(1006)
    const error = await answer.catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('unavailable')
  })

  it('fails calls made while disconnected at once, without sending them', async () => {
    const { connection, socketAt } = harness()
    const client = createOutpostClient(connection.transport)
    await expect(client.call('system.info', {})).rejects.toMatchObject({ code: 'unavailable' })
    expect(socketAt(0).sent).toHaveLength(0)
  })

  it('reconnects with growing, capped delays and resets them after a successful open', () => {
    const { socketAt, timers, states } = harness({ minBackoffMs: 100, maxBackoffMs: 400 })
    socketAt(0).drop()
    timers[0]?.run()
    socketAt(1).drop()
    timers[1]?.run()
    socketAt(2).drop()
    timers[2]?.run()
    socketAt(3).drop()
    // random() = 0.5 puts each delay at three quarters of its ceiling: 100, 200, 400, then capped at 400.
    expect(timers.map((timer) => timer.delayMs)).toEqual([75, 150, 300, 300])
    timers[3]?.run()
    socketAt(4).open()
    socketAt(4).drop()
    expect(timers[4]?.delayMs).toBe(75)
    expect(states.filter((state) => state.status === 'connected')).toHaveLength(1)
  })

  it('names the server and the printed URL when it never connected, and the close code after a loss', () => {
    const { socketAt, connection, timers } = harness()
    socketAt(0).drop(1006)
    const first = connection.getState()
    expect(first.status === 'disconnected' && first.reason).toContain('ws://127.0.0.1:4000/rpc')
    timers[0]?.run()
    socketAt(1).open()
    socketAt(1).drop(1001)
    const second = connection.getState()
    expect(second.status === 'disconnected' && second.reason).toContain('1001')
  })

  it('stops reconnecting once closed', () => {
    const { connection, socketAt, timers, sockets } = harness()
    socketAt(0).open()
    connection.close()
    expect(connection.getState()).toMatchObject({ status: 'disconnected', retryInMs: null })
    expect(timers).toHaveLength(0)
    expect(sockets).toHaveLength(1)
  })
})

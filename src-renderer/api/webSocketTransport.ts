import type { WireError } from '../../src-shared/errors.ts'
import { isRpcMessage, type RpcMessage } from '../../src-shared/rpc/envelope.ts'
import type { Connection, ConnectionState } from './connection.ts'

/** The subprotocol the headless host answers with; the token rides as a second offered subprotocol. */
export const RPC_SUBPROTOCOL = 'outpost.v1'
export const TOKEN_SUBPROTOCOL_PREFIX = 'outpost.token.'

const OPEN = 1

/** The part of the DOM WebSocket this transport uses, so tests can drive it without a server. */
export interface WebSocketLike {
  readonly readyState: number
  onopen: ((event: Event) => void) | null
  onclose: ((event: CloseEvent) => void) | null
  onmessage: ((event: MessageEvent) => void) | null
  onerror: ((event: Event) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export interface WebSocketConnectionOptions {
  /** ws(s)://host/rpc */
  url: string
  /** null when the page was opened without `#token=...`: nothing to connect with. */
  token: string | null
  createSocket?: (url: string, protocols: string[]) => WebSocketLike
  setTimer?: (run: () => void, delayMs: number) => unknown
  clearTimer?: (timer: unknown) => void
  /** Jitter source in [0, 1). */
  random?: () => number
  minBackoffMs?: number
  maxBackoffMs?: number
}

/** ws: for http pages, wss: for https pages, always the page's own host (the server checks the Origin). */
export function webSocketUrlFor(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/rpc`
}

export const MISSING_TOKEN_REASON =
  'This page has no access token. Open the URL printed by `outpost serve` (it ends with #token=...).'

/**
 * The headless-mode transport: one WebSocket carrying JSON RpcMessages, reopened with capped exponential backoff
 * and jitter. Calls that are in flight when the socket closes, or made while it is down, are answered locally with
 * 'unavailable', so no caller waits forever.
 */
export function createWebSocketConnection(options: WebSocketConnectionOptions): Connection {
  const createSocket = options.createSocket ?? ((url, protocols) => new WebSocket(url, protocols))
  const setTimer = options.setTimer ?? ((run, delayMs) => setTimeout(run, delayMs))
  const clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>))
  const random = options.random ?? Math.random
  const minBackoffMs = options.minBackoffMs ?? 500
  const maxBackoffMs = options.maxBackoffMs ?? 10_000

  const messageListeners = new Set<(message: RpcMessage) => void>()
  const stateListeners = new Set<(state: ConnectionState) => void>()
  /** Ids of calls sent on the current socket and not yet answered. */
  const pendingCallIds = new Set<number>()
  let state: ConnectionState = { status: 'connecting', attempt: 0 }
  let socket: WebSocketLike | null = null
  let retryTimer: unknown = null
  let failedAttempts = 0
  let hasEverConnected = false
  let isClosed = false

  const setState = (next: ConnectionState) => {
    state = next
    stateListeners.forEach((listener) => listener(next))
  }

  const deliver = (message: RpcMessage) => messageListeners.forEach((listener) => listener(message))

  const failCall = (id: number, error: WireError) => {
    // Answered on a later tick, as a real reply would be, so callers never see a synchronous rejection.
    queueMicrotask(() => deliver({ kind: 'result', id, ok: false, error }))
  }

  const failPending = (reason: string) => {
    for (const id of pendingCallIds) failCall(id, { code: 'unavailable', message: reason })
    pendingCallIds.clear()
  }

  const scheduleReconnect = (reason: string) => {
    const ceilingMs = Math.min(maxBackoffMs, minBackoffMs * 2 ** failedAttempts)
    // Full jitter on the upper half keeps many tabs from reconnecting in lockstep after a restart.
    const retryInMs = Math.round(ceilingMs / 2 + (random() * ceilingMs) / 2)
    failedAttempts += 1
    setState({ status: 'disconnected', reason, retryInMs })
    retryTimer = setTimer(() => {
      retryTimer = null
      connect()
    }, retryInMs)
  }

  const connect = () => {
    if (isClosed) return
    if (options.token === null) {
      setState({ status: 'disconnected', reason: MISSING_TOKEN_REASON, retryInMs: null })
      return
    }
    setState({ status: 'connecting', attempt: failedAttempts })
    let opened: WebSocketLike
    try {
      opened = createSocket(options.url, [RPC_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + options.token])
    } catch {
      // The constructor throws SyntaxError when the token has characters a subprotocol may not carry.
      setState({
        status: 'disconnected',
        reason: 'The access token in the URL is malformed. Open the URL printed by `outpost serve` again.',
        retryInMs: null,
      })
      return
    }
    socket = opened
    opened.onopen = () => {
      if (socket !== opened) return
      failedAttempts = 0
      hasEverConnected = true
      setState({ status: 'connected' })
    }
    opened.onmessage = (event) => {
      if (socket !== opened || typeof event.data !== 'string') return
      let parsed: unknown
      try {
        parsed = JSON.parse(event.data)
      } catch {
        return
      }
      if (!isRpcMessage(parsed)) return
      if (parsed.kind === 'result') pendingCallIds.delete(parsed.id)
      deliver(parsed)
    }
    opened.onerror = () => {
      // Browsers hide the cause of WebSocket errors; the close event that always follows carries what there is.
    }
    opened.onclose = (event) => {
      if (socket !== opened) return
      socket = null
      const reason = describeClose(event, hasEverConnected, options.url)
      failPending(reason)
      if (isClosed) return
      scheduleReconnect(reason)
    }
  }

  connect()

  return {
    transport: {
      send(message) {
        const current = socket
        if (current === null || current.readyState !== OPEN) {
          if (message.kind === 'call') {
            failCall(message.id, { code: 'unavailable', message: 'Not connected to the control center; retrying' })
          }
          return
        }
        if (message.kind === 'call') pendingCallIds.add(message.id)
        current.send(JSON.stringify(message))
      },
      onMessage(listener) {
        messageListeners.add(listener)
        return () => messageListeners.delete(listener)
      },
    },
    getState: () => state,
    onStateChange(listener) {
      stateListeners.add(listener)
      return () => stateListeners.delete(listener)
    },
    close() {
      isClosed = true
      if (retryTimer !== null) clearTimer(retryTimer)
      retryTimer = null
      const current = socket
      socket = null
      failPending('The connection to the control center was closed')
      current?.close(1000, 'closed by the user interface')
      setState({ status: 'disconnected', reason: 'Closed', retryInMs: null })
    },
  }
}

function describeClose(event: { code: number; reason: string }, hasEverConnected: boolean, url: string): string {
  if (event.reason) return `The control center closed the connection: ${event.reason}`
  if (!hasEverConnected) {
    // A refused token and a stopped server look the same to a browser (close code 1006), so name both.
    return `Cannot reach the control center at ${url}. Check that \`outpost serve\` is running and that this page was opened from the URL it printed.`
  }
  return `Lost the connection to the control center (close code ${event.code}).`
}

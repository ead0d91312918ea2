import type { Transport } from '../../src-shared/rpc/envelope.ts'

/** What the header shows about the link to the control center. */
export type ConnectionState =
  | { status: 'connecting'; attempt: number }
  | { status: 'connected' }
  /** retryInMs is null when retrying cannot help (no access token in the URL, closed on purpose). */
  | { status: 'disconnected'; reason: string; retryInMs: number | null }

/** A transport plus its lifecycle: the renderer reloads its state on every transition to 'connected'. */
export interface Connection {
  readonly transport: Transport
  getState(): ConnectionState
  onStateChange(listener: (state: ConnectionState) => void): () => void
  close(): void
}

/** Electron's preload transport: an IPC channel that lives as long as the window, so it is always connected. */
export function createStaticConnection(transport: Transport): Connection {
  const state: ConnectionState = { status: 'connected' }
  return {
    transport,
    getState: () => state,
    onStateChange: () => () => {},
    close: () => {},
  }
}

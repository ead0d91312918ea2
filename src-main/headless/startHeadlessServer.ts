import { existsSync } from 'node:fs'
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import path from 'node:path'
import type { Duplex } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { WebSocketServer } from 'ws'
import { outpostMethods, type OutpostMethods } from '../../src-shared/contract/index.ts'
import { AppError } from '../../src-shared/errors.ts'
import { MAX_RPC_MESSAGE_BYTES, type Transport } from '../../src-shared/rpc/envelope.ts'
import { serveContract } from '../../src-shared/rpc/serveContract.ts'
import type { Handlers, Logger } from '../../src-shared/rpc/types.ts'
import type { MetricFamily } from '../ports/MetricsSource.ts'
import { createAccessToken, isSameToken, offeredToken, RPC_SUBPROTOCOL, validateAccessToken } from './accessToken.ts'
import { formatPrometheusText, PROMETHEUS_CONTENT_TYPE } from './prometheusText.ts'
import { createSocketTransport } from './socketTransport.ts'
import { lookupStaticFile, sendStaticFile } from './staticFiles.ts'

/** The part of the backend a host needs: the handler table and the event hub (structurally `Backend`). */
export interface HeadlessBackend {
  handlers: Handlers<OutpostMethods>
  events: { attach(transport: Transport): () => void }
  /** Counters for `GET /metrics`; absent when the backend exposes none. */
  collectMetrics?: () => Promise<MetricFamily[]>
}

export interface HeadlessServerOptions {
  backend: HeadlessBackend
  log: Logger
  /** Default 127.0.0.1. Anything that is not loopback exposes the UI to the network, guarded only by the token. */
  host?: string
  /** Default 7420; 0 picks a free port. */
  port?: number
  /** The built renderer (electron-vite's output). Default: out/renderer in the repository. */
  rendererDir?: string
  /** Default: 32 random bytes, base64url. */
  token?: string
  /** Largest WebSocket frame accepted or sent. Default MAX_RPC_MESSAGE_BYTES. */
  maxMessageBytes?: number
}

export interface HeadlessServer {
  host: string
  port: number
  token: string
  /** http://HOST:PORT, the only Origin a browser socket may come from. */
  origin: string
  /** The address to open: http://HOST:PORT/#token=TOKEN (the fragment never reaches a server or a log). */
  uiUrl: string
  /** ws://HOST:PORT/rpc */
  rpcUrl: string
  readonly connectionCount: number
  close(): Promise<void>
}

export const DEFAULT_HTTP_PORT = 7420
export const DEFAULT_RENDERER_DIR = fileURLToPath(new URL('../../out/renderer/', import.meta.url))

/** Serves the built UI and the RPC WebSocket for a browser: the headless host of the backend. */
export async function startHeadlessServer(options: HeadlessServerOptions): Promise<HeadlessServer> {
  const { backend, log } = options
  const host = options.host ?? '127.0.0.1'
  const requestedPort = options.port ?? DEFAULT_HTTP_PORT
  const rendererDir = path.resolve(options.rendererDir ?? DEFAULT_RENDERER_DIR)
  const token = options.token === undefined ? createAccessToken() : validateAccessToken(options.token)
  const maxMessageBytes = options.maxMessageBytes ?? MAX_RPC_MESSAGE_BYTES

  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    log.warn('The UI is not built; the browser will see a page asking for `npm run build`', { rendererDir })
  }
  if (!isLoopbackHost(host)) {
    log.warn(`Listening on ${host}, which other machines can reach: the access token is then the only protection`)
  }

  // Filled in once listening, when the real port is known.
  let allowedOrigins = new Set<string>()
  let securityHeaders: Record<string, string> = {}

  const server = createServer((request, response) => {
    for (const [name, value] of Object.entries(securityHeaders)) response.setHeader(name, value)
    handleHttpRequest(request, response, rendererDir, { token, backend }).catch((error: unknown) => {
      log.error('HTTP request failed', error, { url: request.url })
      if (!response.headersSent) sendText(response, 500, 'Internal error; see the server log')
      else response.destroy()
    })
  })

  const sockets = new WebSocketServer({
    noServer: true,
    maxPayload: maxMessageBytes,
    handleProtocols: (protocols) => (protocols.has(RPC_SUBPROTOCOL) ? RPC_SUBPROTOCOL : false),
  })
  let nextConnection = 1

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname
    if (pathname !== '/rpc') return refuseUpgrade(socket, 404, 'There is no WebSocket endpoint here; use /rpc')
    const origin = request.headers.origin
    // Browsers always send Origin; a page from another site must not drive this API (DNS rebinding, CSRF).
    if (origin !== undefined && !allowedOrigins.has(origin)) {
      log.warn('Refused a WebSocket from a foreign origin', { origin })
      return refuseUpgrade(socket, 403, 'This origin may not connect')
    }
    const offered = offeredToken(request.headers['sec-websocket-protocol'])
    if (offered === undefined || !isSameToken(offered, token)) {
      return refuseUpgrade(socket, 401, 'A valid access token is required')
    }
    const protocols = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((part) => part.trim())
    if (!protocols.includes(RPC_SUBPROTOCOL)) return refuseUpgrade(socket, 400, `Offer the '${RPC_SUBPROTOCOL}' subprotocol`)
    sockets.handleUpgrade(request, socket, head, (webSocket) => {
      const connectionId = `ws-${nextConnection++}`
      const transport = createSocketTransport(webSocket, { log, maxMessageBytes })
      const stopServing = serveContract(outpostMethods, backend.handlers, transport, log, { connectionId })
      const detach = backend.events.attach(transport)
      log.info('RPC client connected', { connectionId })
      webSocket.on('error', (error) => log.warn('RPC socket error', { connectionId, message: error.message }))
      webSocket.on('close', () => {
        stopServing()
        detach()
        log.info('RPC client disconnected', { connectionId, droppedFrameCount: transport.droppedFrameCount })
      })
    })
  })

  await listen(server, requestedPort, host)
  const port = (server.address() as AddressInfo).port
  const origin = `http://${formatHost(host)}:${port}`
  allowedOrigins = originsFor(host, port)
  securityHeaders = securityHeadersFor(host, port)

  let closing: Promise<void> | undefined
  return {
    host,
    port,
    token,
    origin,
    uiUrl: `${origin}/#token=${token}`,
    rpcUrl: `ws://${formatHost(host)}:${port}/rpc`,
    get connectionCount() {
      return sockets.clients.size
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.close(1001, 'The control center is shutting down')
        server.close(() => resolve())
        server.closeAllConnections()
        // A peer that never answers the close handshake must not hold the shutdown.
        setTimeout(() => {
          for (const client of sockets.clients) client.terminate()
        }, 1000).unref()
      }).then(() => new Promise<void>((resolve) => sockets.close(() => resolve())))
      return closing
    },
  }
}

async function handleHttpRequest(
  request: IncomingMessage,
  response: ServerResponse,
  rendererDir: string,
  access: { token: string; backend: HeadlessBackend },
): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD')
    return sendText(response, 405, 'Only GET and HEAD are served here')
  }
  const pathname = (request.url ?? '/').split('?')[0] ?? '/'
  if (pathname === '/healthz') {
    response.statusCode = 200
    response.setHeader('Content-Type', 'application/json; charset=utf-8')
    response.setHeader('Cache-Control', 'no-store')
    response.end(JSON.stringify({ ok: true }))
    return
  }
  if (pathname === '/metrics') return sendMetrics(request, response, access)
  if (pathname === '/rpc') return sendText(response, 426, 'This endpoint speaks WebSocket only')
  const file = await lookupStaticFile(rendererDir, pathname)
  if (file.kind === 'refused') return sendText(response, 403, 'Forbidden')
  if (file.kind === 'file') return sendStaticFile(request, response, file)
  if (!existsSync(path.join(rendererDir, 'index.html'))) return sendBuildMissingPage(response, rendererDir)
  return sendText(response, 404, 'Not found')
}

function sendBuildMissingPage(response: ServerResponse, rendererDir: string): void {
  const body = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>Outpost: UI not built</title></head>',
    '<body><h1>The Outpost UI is not built yet</h1>',
    `<p>No index.html in ${escapeHtml(rendererDir)}. Run <code>npm run build</code> in the repository, then reload this page.</p>`,
    '<p>The control center, its broker and the RPC endpoint are running meanwhile.</p>',
    '</body></html>',
  ].join('\n')
  response.statusCode = 503
  response.setHeader('Content-Type', 'text/html; charset=utf-8')
  response.setHeader('Cache-Control', 'no-store')
  response.end(body)
}

/**
 * Prometheus scrape endpoint. It carries fleet facts, so it needs the same token as the UI, sent the way Prometheus
 * sends one (`authorization: { credentials: TOKEN }` in a scrape config gives `Authorization: Bearer TOKEN`).
 */
async function sendMetrics(request: IncomingMessage, response: ServerResponse, access: { token: string; backend: HeadlessBackend }): Promise<void> {
  const header = request.headers.authorization ?? ''
  const offered = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : ''
  if (offered === '' || !isSameToken(offered, access.token)) {
    response.setHeader('WWW-Authenticate', 'Bearer realm="outpost"')
    return sendText(response, 401, 'Send the access token as "Authorization: Bearer TOKEN"')
  }
  const families = access.backend.collectMetrics === undefined ? [] : await access.backend.collectMetrics()
  response.statusCode = 200
  response.setHeader('Content-Type', PROMETHEUS_CONTENT_TYPE)
  response.setHeader('Cache-Control', 'no-store')
  response.end(formatPrometheusText(families))
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.statusCode = status
  response.setHeader('Content-Type', 'text/plain; charset=utf-8')
  response.end(text)
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    )
  }
  socket.destroy()
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      reject(listenError(error, port, host))
    }
    const onListening = () => {
      server.off('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

function listenError(error: NodeJS.ErrnoException, port: number, host: string): Error {
  const code = error.code ?? ''
  if (code === 'EADDRINUSE') return new AppError('port-in-use', `Port ${port} on ${host} is in use; pass --port <n>`, { port, host })
  if (code === 'EACCES') {
    return new AppError('forbidden', `Not allowed to listen on port ${port} on ${host}; pass --port <n> above 1023`, { port, host })
  }
  if (['EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) {
    return new AppError('invalid-input', `${host} is not an address of this machine; pass --host <address>`, { host })
  }
  return error
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** The origins a page served by this server can have. A wildcard bind is reachable under every local address. */
function originsFor(host: string, port: number): Set<string> {
  const hosts = new Set<string>([host])
  if (isLoopbackHost(host)) for (const alias of ['localhost', '127.0.0.1', '::1']) hosts.add(alias)
  if (host === '0.0.0.0' || host === '::') {
    hosts.add('localhost')
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) hosts.add(address.address)
    }
  }
  return new Set([...hosts].map((name) => `http://${formatHost(name)}:${port}`))
}

function securityHeadersFor(host: string, port: number): Record<string, string> {
  const csp = [
    "default-src 'self'",
    `connect-src 'self' ws://${formatHost(host)}:${port}`,
    "img-src 'self' data:",
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
  return {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`)
}

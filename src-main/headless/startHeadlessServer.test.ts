import type { MetricFamily } from '../ports/MetricsSource.ts'
import { PROMETHEUS_CONTENT_TYPE } from './prometheusText.ts'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { outpostEvents, outpostMethods } from '../../src-shared/contract/index.ts'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { createRpcClient } from '../../src-shared/rpc/createRpcClient.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import { subprotocolsFor } from './accessToken.ts'
import { createSocketTransport } from './socketTransport.ts'
import { startHeadlessServer, type HeadlessServer } from './startHeadlessServer.ts'
import { aDeviceSummary, createTestBackend } from './testBackend.ts'

let workDir: string
let rendererDir: string
const servers: HeadlessServer[] = []
const sockets: WebSocket[] = []

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'outpost-headless-'))
  rendererDir = path.join(workDir, 'renderer')
  mkdirSync(path.join(rendererDir, 'assets'), { recursive: true })
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Outpost</title><div id="root"></div>')
  writeFileSync(path.join(rendererDir, 'assets', 'index-abc123.js'), 'console.info("ui")')
  writeFileSync(path.join(rendererDir, 'assets', 'index-abc123.css'), 'body{}')
  writeFileSync(path.join(workDir, 'secret.txt'), 'do not serve me')
})

afterAll(() => rmSync(workDir, { recursive: true, force: true }))

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function start(overrides: { rendererDir?: string; token?: string; log?: Logger; metrics?: MetricFamily[] } = {}) {
  const { metrics, ...serverOverrides } = overrides
  const backend = {
    ...createTestBackend(),
    ...(metrics === undefined ? {} : { collectMetrics: () => Promise.resolve(metrics) }),
  }
  const server = await startHeadlessServer({
    backend,
    log: silentLogger,
    port: 0,
    rendererDir,
    token: 'test-token-0123456789abcdef',
    ...serverOverrides,
  })
  servers.push(server)
  return { server, backend }
}

interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A request whose path is sent byte for byte, unlike fetch, which would normalize '..' away. */
function rawGet(server: HeadlessServer, requestPath: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port: server.port, path: requestPath, method: 'GET', headers }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
      )
    })
    request.on('error', reject)
    request.end()
  })
}

/** Opens a socket and resolves with it, or with the HTTP status of a refused handshake. */
function openSocket(server: HeadlessServer, protocols: string[], headers: Record<string, string> = {}) {
  return new Promise<{ socket: WebSocket } | { status: number }>((resolve, reject) => {
    const socket = new WebSocket(server.rpcUrl, protocols, { headers })
    sockets.push(socket)
    socket.once('open', () => resolve({ socket }))
    socket.once('unexpected-response', (_request, response) => resolve({ status: response.statusCode ?? 0 }))
    socket.once('error', reject)
  })
}

async function connectClient(server: HeadlessServer) {
  const opened = await openSocket(server, subprotocolsFor(server.token))
  if (!('socket' in opened)) throw new Error(`handshake refused with ${opened.status}`)
  const transport = createSocketTransport(opened.socket, { log: silentLogger })
  const client = createRpcClient(outpostMethods, outpostEvents, transport, { validate: true, callTimeoutMs: 5000 })
  return { socket: opened.socket, transport, client }
}

describe('startHeadlessServer: static files', () => {
  it('serves index.html at / with a strict content security policy and security headers', async () => {
    const { server } = await start()
    const response = await rawGet(server, '/')
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(response.body).toContain('<div id="root">')
    const csp = String(response.headers['content-security-policy'])
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`)
    expect(csp).toContain("img-src 'self' data:")
    expect(csp).toContain("style-src 'self' 'unsafe-inline'")
    expect(csp).toContain("object-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(response.headers['x-content-type-options']).toBe('nosniff')
    expect(response.headers['referrer-policy']).toBe('no-referrer')
  })

  it('serves assets with their content type and long caching', async () => {
    const { server } = await start()
    const script = await rawGet(server, '/assets/index-abc123.js')
    expect(script.status).toBe(200)
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(script.headers['cache-control']).toContain('immutable')
    const style = await rawGet(server, '/assets/index-abc123.css')
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8')
  })

  it('answers client-side routes with index.html but a missing asset with 404', async () => {
    const { server } = await start()
    const route = await rawGet(server, '/devices/demo-1?tab=latency')
    expect(route.status).toBe(200)
    expect(route.body).toContain('<div id="root">')
    const missing = await rawGet(server, '/assets/missing.js')
    expect(missing.status).toBe(404)
    expect(missing.headers['content-security-policy']).toBeDefined()
  })

  it('refuses paths that climb out of the renderer directory', async () => {
    const { server } = await start()
    for (const attempt of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/a%00.js']) {
      const response = await rawGet(server, attempt)
      expect(response.body, attempt).not.toContain('do not serve me')
      expect([400, 403, 404], attempt).toContain(response.status)
    }
    expect((await rawGet(server, '/..%2fsecret.txt')).status).toBe(403)
  })

  it('answers /healthz without a token', async () => {
    const { server } = await start()
    const response = await rawGet(server, '/healthz')
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body)).toEqual({ ok: true })
  })

  it('serves /metrics in Prometheus text only with the access token as a bearer credential', async () => {
    const metrics: MetricFamily[] = [
      { name: 'outpost_devices_online', help: 'Devices online', type: 'gauge', samples: [{ labels: { arch: 'x64' }, value: 5 }] },
    ]
    const { server } = await start({ metrics })
    expect((await rawGet(server, '/metrics')).status).toBe(401)
    expect((await rawGet(server, '/metrics', { authorization: 'Bearer wrong-token-0123456789abcdef' })).status).toBe(401)
    const response = await rawGet(server, '/metrics', { authorization: `Bearer ${server.token}` })
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE)
    expect(response.body).toContain('# TYPE outpost_devices_online gauge\noutpost_devices_online{arch="x64"} 5\n')
  })

  it('serves a page asking for `npm run build` when the UI is not built', async () => {
    const emptyDir = path.join(workDir, 'empty')
    mkdirSync(emptyDir, { recursive: true })
    const { server } = await start({ rendererDir: emptyDir })
    const response = await rawGet(server, '/')
    expect(response.status).toBe(503)
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(response.body).toContain('npm run build')
  })
})

describe('startHeadlessServer: WebSocket RPC', () => {
  it('refuses a socket without a token, or with a wrong one, with 401', async () => {
    const { server } = await start()
    expect(await openSocket(server, ['outpost.v1'])).toEqual({ status: 401 })
    expect(await openSocket(server, subprotocolsFor('wrong-token-0123456789abcdef'))).toEqual({ status: 401 })
    expect(server.connectionCount).toBe(0)
  })

  it('refuses a socket from a foreign origin with 403, even with the right token', async () => {
    const { server } = await start()
    const refused = await openSocket(server, subprotocolsFor(server.token), { Origin: 'http://evil.example:80' })
    expect(refused).toEqual({ status: 403 })
    const own = await openSocket(server, subprotocolsFor(server.token), { Origin: server.origin })
    expect('socket' in own).toBe(true)
  })

  it('answers calls over a real socket with the outpost.v1 subprotocol, errors keeping their code', async () => {
    const { server, backend } = await start()
    const { socket, client } = await connectClient(server)
    expect(socket.protocol).toBe('outpost.v1')
    expect(await client.call('system.info', {})).toEqual(backend.info)
    await client.call('devices.enroll', { deviceId: 'd-1' })
    expect((await client.call('devices.list', {})).map((device) => device.deviceId)).toEqual(['d-1'])
    await expect(client.call('devices.get', { deviceId: 'd-404' })).rejects.toMatchObject({ code: 'not-found' })
    await expect(client.call('devices.get', { deviceId: 'bad/id' })).rejects.toMatchObject({ code: 'invalid-input' })
  })

  it('pushes backend events to the socket and stops after it closes', async () => {
    const { server, backend } = await start()
    const { socket, client } = await connectClient(server)
    const received = new Promise<string>((resolve) => client.on('device.changed', (device) => resolve(device.deviceId)))
    expect(backend.events.connectionCount).toBe(1)
    backend.events.emit('device.changed', aDeviceSummary('d-7', { isOnline: true }))
    expect(await received).toBe('d-7')
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.close()
    await closed
    await expect.poll(() => backend.events.connectionCount).toBe(0)
  })

  it('drops malformed frames, counts them, and keeps serving', async () => {
    const warnings: Array<Record<string, unknown> | undefined> = []
    const log: Logger = { ...silentLogger, warn: (message, fields) => message.startsWith('Dropped') && warnings.push(fields) }
    const { server } = await start({ log })
    const { socket, client } = await connectClient(server)
    socket.send('not json')
    socket.send(JSON.stringify({ kind: 'call', id: -1 }))
    socket.send(Buffer.from([1, 2, 3]), { binary: true })
    expect((await client.call('system.info', {})).host).toBe('headless')
    expect(warnings.map((fields) => fields?.['droppedFrameCount'])).toEqual([1, 2, 3])
  })

  it('closes a socket that sends a frame over the size limit', async () => {
    const backend = createTestBackend()
    const server = await startHeadlessServer({ backend, log: silentLogger, port: 0, rendererDir, maxMessageBytes: 1024 })
    servers.push(server)
    const { socket } = await connectClient(server)
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)))
    socket.send(JSON.stringify({ kind: 'call', id: 1, method: 'system.info', input: { padding: 'x'.repeat(4096) } }))
    expect(await closed).toBe(1009)
  })

  it('fails with port-in-use when the port is taken', async () => {
    const { server } = await start()
    const error = await startHeadlessServer({ backend: createTestBackend(), log: silentLogger, port: server.port, rendererDir }).catch(
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(AppError)
    expect(error).toMatchObject({ code: 'port-in-use', message: `Port ${server.port} on 127.0.0.1 is in use; pass --port <n>` })
  })

  it('refuses a token that could not travel in a subprotocol', async () => {
    await expect(
      startHeadlessServer({ backend: createTestBackend(), log: silentLogger, port: 0, rendererDir, token: 'short' }),
    ).rejects.toMatchObject({ code: 'invalid-input' })
  })
})

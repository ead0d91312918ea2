/**
 * RPC overhead. A contract call ('system.info') over the real headless WebSocket (startHeadlessServer on a real
 * backend, token subprotocol, JSON RpcMessage frames) against a raw `ws` echo of the same request frame on
 * 127.0.0.1, p50 round trip, in alternating rounds.
 */
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { WebSocket, WebSocketServer } from 'ws'
import { subprotocolsFor } from '../../src-main/headless/accessToken.ts'
import { startHeadlessServer } from '../../src-main/headless/startHeadlessServer.ts'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import type { RpcMessage } from '../../src-shared/rpc/envelope.ts'
import { startControlCenter } from '../support/controlCenter.ts'
import { nowMs, quantile } from '../support/stats.ts'
import { withTempDir } from '../support/tempDir.ts'
import { type Benchmark, ratioOf } from '../types.ts'

const CALL_TIMEOUT_MS = 5_000

function open(url: string, protocols: string[] = []): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols)
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
    socket.once('unexpected-response', (_request, response) => reject(new AppError('unavailable', `WebSocket refused: HTTP ${response.statusCode ?? 0}`)))
  })
}

/** Sends one frame and resolves with the first reply; one call in flight at a time. */
function roundTrip(socket: WebSocket, frame: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new AppError('timeout', `No reply within ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS)
    socket.once('message', (data: Buffer) => {
      clearTimeout(timer)
      resolve(data.toString('utf8'))
    })
    socket.send(frame)
  })
}

async function startEchoServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  server.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(data.toString('utf8'))))
  const { port } = server.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate()
        server.close(() => resolve())
      }),
  }
}

export const benchmark: Benchmark = {
  name: 'rpc-overhead',
  description: "'system.info' over the headless WebSocket vs a raw ws echo round trip, p50",
  async run({ quick }) {
    const pairs = quick ? 50 : 4000
    const warmupCalls = quick ? 10 : 200
    return withTempDir('rpc', async (dir) => {
      const controlCenter = await startControlCenter(join(dir, 'control-center'))
      const server = await startHeadlessServer({ backend: controlCenter.backend, log: silentLogger, port: 0, rendererDir: join(dir, 'renderer') })
      const echo = await startEchoServer()
      const sockets: WebSocket[] = []
      try {
        const rpcSocket = await open(server.rpcUrl, subprotocolsFor(server.token))
        const echoSocket = await open(echo.url)
        sockets.push(rpcSocket, echoSocket)
        let nextId = 1
        const rpcCall = async () => {
          const id = nextId++
          const call: RpcMessage = { kind: 'call', id, method: 'system.info', input: {} }
          const reply = JSON.parse(await roundTrip(rpcSocket, JSON.stringify(call))) as RpcMessage
          if (reply.kind !== 'result' || reply.id !== id || !reply.ok) throw new AppError('internal', `Unexpected reply to system.info: ${JSON.stringify(reply).slice(0, 200)}`)
        }
        const echoCall = async () => {
          const frame = JSON.stringify({ kind: 'call', id: nextId++, method: 'system.info', input: {} } satisfies RpcMessage)
          const reply = await roundTrip(echoSocket, frame)
          if (reply !== frame) throw new AppError('internal', 'The echo server answered a different frame')
        }
        for (let i = 0; i < warmupCalls; i += 1) {
          await rpcCall()
          await echoCall()
        }
        const rpcMs: number[] = []
        const echoMs: number[] = []
        const time = async (call: () => Promise<void>, samples: number[]) => {
          const startedMs = nowMs()
          await call()
          samples.push(nowMs() - startedMs)
        }
        // Paired calls, alternating which side goes first, so load from other processes hits both sides alike.
        for (let i = 0; i < pairs; i += 1) {
          if (i % 2 === 0) {
            await time(rpcCall, rpcMs)
            await time(echoCall, echoMs)
          } else {
            await time(echoCall, echoMs)
            await time(rpcCall, rpcMs)
          }
        }
        const rpcP50 = quantile(rpcMs, 0.5)
        const echoP50 = quantile(echoMs, 0.5)
        return [
          {
            id: 'rpc-system-info-p50',
            title: "Contract call 'system.info' over the headless WebSocket, p50 round trip",
            value: rpcP50,
            unit: 'ms',
            baseline: { value: echoP50, unit: 'ms', title: 'raw ws echo of the same frame on 127.0.0.1, p50' },
            ratio: ratioOf(rpcP50, echoP50),
            notes:
              `${pairs} alternating pairs of sequential calls; p95 ${quantile(rpcMs, 0.95).toFixed(3)} ms ` +
              `vs ${quantile(echoMs, 0.95).toFixed(3)} ms. Includes input validation, dispatch and JSON both ways.`,
          },
        ]
      } finally {
        for (const socket of sockets) socket.terminate()
        await echo.close()
        await server.close()
        await controlCenter.close()
      }
    })
  },
}

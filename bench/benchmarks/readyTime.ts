/**
 * Headless control center ready time: createBackend (fresh data dir: database and migrations, broker secret,
 * embedded aedes, the control center's MQTT connection) plus startHeadlessServer, until both listen. Baseline: a bare
 * node:http server plus a bare aedes broker on node:net, started in the same run. Modules are loaded before timing.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createNetServer, type Server as NetServer } from 'node:net'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import { createBackend } from '../../src-main/backend/createBackend.ts'
import { startHeadlessServer } from '../../src-main/headless/startHeadlessServer.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { median, nowMs } from '../support/stats.ts'
import { withTempDir } from '../support/tempDir.ts'
import { type Benchmark, ratioOf } from '../types.ts'

function listen(server: HttpServer | NetServer): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

const closeServer = (server: HttpServer | NetServer) => new Promise<void>((resolve) => server.close(() => resolve()))

async function timeOutpost(dataDir: string, rendererDir: string): Promise<number> {
  const startedMs = nowMs()
  const backend = await createBackend({ dataDir, host: 'headless', broker: { kind: 'embedded', host: '127.0.0.1', port: 0 } }, silentLogger)
  try {
    const server = await startHeadlessServer({ backend, log: silentLogger, port: 0, rendererDir })
    const readyMs = nowMs() - startedMs
    await server.close()
    return readyMs
  } finally {
    await backend.close()
  }
}

async function timeBare(): Promise<number> {
  const startedMs = nowMs()
  const broker = await Aedes.createBroker()
  const mqttServer = createNetServer((socket) => broker.handle(socket))
  const httpServer = createHttpServer((_request, response) => response.end())
  await Promise.all([listen(mqttServer), listen(httpServer)])
  const readyMs = nowMs() - startedMs
  await Promise.all([closeServer(mqttServer), closeServer(httpServer)])
  await new Promise<void>((resolve) => broker.close(() => resolve()))
  return readyMs
}

export const benchmark: Benchmark = {
  name: 'ready-time',
  description: 'createBackend + startHeadlessServer until listening vs bare node:http + aedes',
  async run({ quick, log }) {
    const repetitions = quick ? 2 : 9
    return withTempDir('ready', async (dir) => {
      // One untimed start of each loads native modules and JIT-warms both paths.
      await timeOutpost(join(dir, 'warmup'), join(dir, 'renderer'))
      await timeBare()
      const outpostMs: number[] = []
      const bareMs: number[] = []
      for (let i = 0; i < repetitions; i += 1) {
        outpostMs.push(await timeOutpost(join(dir, `data-${i}`), join(dir, 'renderer')))
        bareMs.push(await timeBare())
      }
      log(`outpost ${outpostMs.map((ms) => ms.toFixed(0)).join(', ')} ms; bare ${bareMs.map((ms) => ms.toFixed(1)).join(', ')} ms`)
      const outpost = median(outpostMs)
      const bare = median(bareMs)
      return [
        {
          id: 'headless-ready-ms',
          title: 'Headless control center ready (createBackend + startHeadlessServer, fresh data dir), median',
          value: outpost,
          unit: 'ms',
          baseline: { value: bare, unit: 'ms', title: 'bare node:http server + aedes on node:net, median' },
          ratio: ratioOf(outpost, bare),
          notes: `median of ${repetitions} starts each, after one untimed warm-up start; modules already loaded (process start-up not included).`,
        },
      ]
    })
  },
}

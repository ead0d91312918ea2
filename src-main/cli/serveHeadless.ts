import { createLogger } from '../../src-shared/log.ts'
import { createBackend } from '../backend/createBackend.ts'
import { startHeadlessServer, type HeadlessServer } from '../headless/startHeadlessServer.ts'
import { untilAborted, type CliContext } from './cliContext.ts'
import type { HostSettings } from './hostCommands.ts'
import { removeServerFile, writeServerFile } from './serverFile.ts'
import { startDemo, type Demo } from './startDemo.ts'

/**
 * Runs the control center headless until the shutdown signal: backend, HTTP and WebSocket server, optional demo fleet.
 * Prints the ready lines only once everything accepts connections, and undoes everything in reverse on the way out.
 */
export async function serveHeadless(settings: HostSettings, context: CliContext): Promise<number> {
  const log = createLogger('outpost')
  const backend = await createBackend(
    { dataDir: settings.dataDir, host: 'headless', broker: settings.broker, ...(settings.trust === undefined ? {} : { trust: settings.trust }) },
    log,
  )
  let server: HeadlessServer | undefined
  let demo: Demo | undefined
  try {
    server = await startHeadlessServer({
      backend,
      log,
      host: settings.host,
      port: settings.port,
      ...(settings.rendererDir === undefined ? {} : { rendererDir: settings.rendererDir }),
      ...(settings.token === undefined ? {} : { token: settings.token }),
    })
    if (settings.isDemo && !context.shutdownSignal.aborted) {
      demo = await startDemo({
        handlers: backend.handlers,
        dataDir: settings.dataDir,
        brokerUrl: backend.info.brokerUrl,
        log,
        isVerbose: settings.isVerbose,
        writeAgentLine: (line) => context.stderr(line),
      })
    }
    writeServerFile(settings.dataDir, {
      uiUrl: server.uiUrl,
      rpcUrl: server.rpcUrl,
      token: server.token,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    })
    if (settings.isJson) {
      context.stdout(
        JSON.stringify({
          ready: true,
          url: server.uiUrl,
          origin: server.origin,
          token: server.token,
          brokerUrl: backend.info.brokerUrl,
          dataDir: settings.dataDir,
          pid: process.pid,
        }),
      )
    } else {
      context.stdout(`ready ${server.uiUrl}\ntoken ${server.token}\nbroker ${backend.info.brokerUrl}`)
    }
    await untilAborted(context.shutdownSignal)
    log.info('Shutting down')
  } finally {
    await demo?.stop()
    await server?.close()
    removeServerFile(settings.dataDir, process.pid)
    await backend.close()
  }
  return 0
}

/**
 * The desktop app's lifecycle: one instance, hardened sessions and web contents, the backend, one window served
 * over IPC, and an orderly shutdown that closes the backend (database, broker) before the process exits.
 */
import { app, BrowserWindow, dialog, protocol, session, shell } from 'electron'
import { homedir } from 'node:os'
import { outpostMethods } from '../../src-shared/contract/index.ts'
import { AppError } from '../../src-shared/errors.ts'
import { serveContract } from '../../src-shared/rpc/serveContract.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import type { Backend, BackendConfig } from '../backend/createBackend.ts'
import { resolveDefaultDataDir } from '../core/config/resolveDefaultDataDir.ts'
import { APP_ENTRY_URL, APP_ORIGIN, APP_SCHEME, appScheme, createAppProtocolHandler } from './appProtocol.ts'
import { createIpcTransport } from './ipcTransport.ts'
import { builtAppPaths, resolveLaunchOptions } from './launchOptions.ts'
import { contentSecurityPolicy, hardenAllWebContents, hardenSession, originOf } from './security.ts'
import { createMainWindow } from './windows.ts'

export interface ElectronAppOptions {
  /** src-main/backend/createBackend.ts in the app; a stand-in in tests. */
  createBackend(config: BackendConfig, log: Logger): Promise<Backend>
  /** import.meta.url of the main bundle (out/main/index.js): the preload and renderer are found next to it. */
  mainModuleUrl: string
  argv: readonly string[]
  env: Readonly<Record<string, string | undefined>>
  log: Logger
  /** Starts the simulated demo fleet for `--demo` (src-main/cli/startDemo.ts); returns how to stop it. */
  startDemo?(backend: Backend, dataDir: string): Promise<{ stop(): Promise<void> }>
}

/** Shown in the error dialog for failures that carry no code the user can act on. */
const INTERNAL_FAILURE = 'internal: Outpost hit an unexpected error while starting. The log in the terminal has the details.'

/** Wires the app's lifecycle. Call once, synchronously, at the top of the main bundle (schemes must precede 'ready'). */
export function startElectronApp(options: ElectronAppOptions): void {
  const { log } = options
  protocol.registerSchemesAsPrivileged([appScheme])
  app.enableSandbox()

  if (!app.requestSingleInstanceLock()) {
    log.info('Outpost is already running; the open window was brought to the front')
    app.quit()
    return
  }

  // `electron-vite dev` sets ELECTRON_RENDERER_URL to its dev server; a packaged app never trusts it.
  const devServerUrl = app.isPackaged ? undefined : options.env.ELECTRON_RENDERER_URL
  const devServerOrigin = devServerUrl === undefined ? undefined : originOf(devServerUrl)
  if (devServerUrl !== undefined && devServerOrigin === undefined) log.warn('Ignored ELECTRON_RENDERER_URL: not a URL', { devServerUrl })
  const trustedOrigin = devServerOrigin ?? APP_ORIGIN
  const rendererUrl = devServerOrigin !== undefined && devServerUrl !== undefined ? devServerUrl : APP_ENTRY_URL
  const csp = contentSecurityPolicy(devServerOrigin === undefined ? {} : { devServerOrigin })
  const { preloadPath, rendererDir } = builtAppPaths(options.mainModuleUrl)

  let backend: Backend | undefined
  let demo: { stop(): Promise<void> } | undefined
  let mainWindow: BrowserWindow | undefined
  let shutdown: 'running' | 'closing' | 'closed' = 'running'

  hardenAllWebContents(app, { trustedOrigin, openExternal: (url) => shell.openExternal(url), log })

  const openWindow = (ready: Backend) => {
    const window = createMainWindow({ preloadPath })
    const transport = createIpcTransport(window, trustedOrigin, log)
    const stopServing = serveContract(outpostMethods, ready.handlers, transport, log, { connectionId: `window-${window.id}` })
    const detachEvents = ready.events.attach(transport)
    window.once('closed', () => {
      stopServing()
      detachEvents()
      if (mainWindow === window) mainWindow = undefined
    })
    mainWindow = window
    window.loadURL(rendererUrl).catch((error: unknown) => log.error('The window could not load the user interface', error, { rendererUrl }))
  }

  const boot = async () => {
    // The same default folder as the CLI, so `outpost devices list` finds the desktop app's database.
    const launch = resolveLaunchOptions(options.argv, options.env, resolveDefaultDataDir(options.env, process.platform, homedir()))
    hardenSession(session.defaultSession, csp, log)
    protocol.handle(APP_SCHEME, createAppProtocolHandler({ rendererDir, contentSecurityPolicy: csp }))
    backend = await options.createBackend({ dataDir: launch.dataDir, host: 'electron', broker: launch.broker }, log)
    log.info('Outpost is ready', { dataDir: launch.dataDir, broker: launch.broker.kind, rendererUrl })
    if (options.startDemo !== undefined && options.argv.includes('--demo')) demo = await options.startDemo(backend, launch.dataDir)
    openWindow(backend)
  }

  const failStart = async (error: unknown) => {
    const detail = error instanceof AppError ? `${error.code}: ${error.message}` : INTERNAL_FAILURE
    if (error instanceof AppError) log.error(`Outpost could not start: ${detail}`)
    else log.error('Outpost could not start', error)
    dialog.showErrorBox('Outpost could not start', detail)
    await closeBackend()
    app.exit(1)
  }

  const closeBackend = async () => {
    const runningDemo = demo
    demo = undefined
    if (runningDemo !== undefined) {
      await runningDemo.stop().catch((error: unknown) => log.error('The demo agents did not stop cleanly', error))
    }
    const running = backend
    backend = undefined
    if (running === undefined) return
    try {
      await running.close()
    } catch (error) {
      log.error('The backend did not close cleanly', error)
    }
  }

  app.on('second-instance', () => {
    if (mainWindow === undefined || mainWindow.isDestroyed()) return
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.focus()
  })

  // macOS keeps apps alive without windows; the dock icon reopens one ('activate').
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
  app.on('activate', () => {
    if (backend !== undefined && BrowserWindow.getAllWindows().length === 0) openWindow(backend)
  })

  // Hold the quit until the backend has closed its database and broker, then quit for real.
  app.on('before-quit', (event) => {
    if (shutdown === 'closed') return
    event.preventDefault()
    if (shutdown === 'closing') return
    shutdown = 'closing'
    void closeBackend().then(() => {
      shutdown = 'closed'
      app.quit()
    })
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => app.quit())

  void app.whenReady().then(boot).catch(failStart)
}

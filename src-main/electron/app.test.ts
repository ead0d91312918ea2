import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { outpostEvents, type OutpostMethods, type SystemInfo } from '../../src-shared/contract/index.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { RpcMessage } from '../../src-shared/rpc/envelope.ts'
import { createEventHub } from '../../src-shared/rpc/serveContract.ts'
import type { Handlers } from '../../src-shared/rpc/types.ts'
import type { Backend, BackendConfig } from '../backend/createBackend.ts'
import { startElectronApp } from './app.ts'
import { app, BrowserWindow, dialog, FakeWebFrame, ipcMain, protocol, resetFakeElectron, session } from './fakeElectron.ts'
import { RPC_CHANNEL } from './ipcTransport.ts'

vi.mock('electron', () => import('./fakeElectron.ts'))

const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() }
const MAIN_URL = 'file:///opt/outpost/out/main/index.js'

const systemInfo: SystemInfo = {
  productVersion: '0.1.0',
  host: 'electron',
  dataDir: '/srv/outpost',
  databaseFile: '/srv/outpost/outpost.db',
  brokerUrl: 'mqtt://127.0.0.1:1883',
  brokerKind: 'embedded',
  startedAt: '2025-01-01T00:00:00.000Z',
}

function testBackend() {
  const unavailable = () => Promise.reject(new AppError('unavailable', 'Not part of this test'))
  const handlers = {
    'system.info': () => Promise.resolve(systemInfo),
    'devices.list': () => Promise.resolve([]),
    'devices.get': unavailable,
    'devices.enroll': unavailable,
    'models.list': () => Promise.resolve([]),
    'models.upload': unavailable,
    'models.importFile': unavailable,
    'models.deploy': unavailable,
    'models.inspect': unavailable,
    'models.optimize': unavailable,
    'models.evaluate': unavailable,
    'models.card': unavailable,
    'releases.list': () => Promise.resolve([]),
    'releases.trustStatus': unavailable,
    'releases.import': unavailable,
    'releases.upload': unavailable,
    'rollouts.list': () => Promise.resolve([]),
    'rollouts.create': unavailable,
    'rollouts.start': unavailable,
    'rollouts.pause': unavailable,
    'rollouts.resume': unavailable,
    'rollouts.approve': unavailable,
    'rollouts.abort': unavailable,
    'rollouts.rollback': unavailable,
    'rollouts.retry': unavailable,
    'rollouts.status': unavailable,
    'rollouts.dryRun': unavailable,
    'rollouts.report': unavailable,
    'rollouts.audit': unavailable,
    'telemetry.overview': unavailable,
    'telemetry.latency': unavailable,
    'telemetry.predictions': unavailable,
    'telemetry.window': unavailable,
    'telemetry.alerts': unavailable,
    'drift.references': unavailable,
    'drift.registerReference': unavailable,
    'drift.settings': unavailable,
    'drift.updateSettings': unavailable,
    'drift.heatmap': unavailable,
    'drift.overlay': unavailable,
    'drift.device': unavailable,
    'devices.tag': unavailable,
  } satisfies Handlers<OutpostMethods>
  let finishClose = () => {}
  const backend = {
    handlers,
    events: createEventHub(outpostEvents, log),
    info: systemInfo,
    close: vi.fn(() => new Promise<void>((resolve) => (finishClose = resolve))),
  } satisfies Backend
  return { backend, finishClose: () => finishClose() }
}

interface StartOverrides {
  argv?: string[]
  env?: Record<string, string>
  startDemo?: (backend: Backend, dataDir: string) => Promise<{ stop(): Promise<void> }>
}

function start(createBackend: (config: BackendConfig) => Promise<Backend>, overrides: StartOverrides = {}) {
  startElectronApp({
    createBackend,
    mainModuleUrl: MAIN_URL,
    argv: overrides.argv ?? ['/opt/outpost/outpost', '.', '--data-dir', '/srv/outpost', '--broker-port', '0'],
    env: overrides.env ?? {},
    log,
    ...(overrides.startDemo === undefined ? {} : { startDemo: overrides.startDemo }),
  })
  app.becomeReady()
}

async function startedWindow(overrides: StartOverrides = {}) {
  const { backend, finishClose } = testBackend()
  const createBackend = vi.fn((_config: BackendConfig) => Promise.resolve(backend))
  start(createBackend, overrides)
  await vi.waitFor(() => expect(BrowserWindow.instances).toHaveLength(1))
  const window = BrowserWindow.instances[0]!
  return { backend, finishClose, createBackend, window }
}

describe('startElectronApp', () => {
  beforeEach(resetFakeElectron)
  afterEach(() => vi.clearAllMocks())

  it('registers the privileged app scheme and the sandbox before ready, then serves the renderer from it', async () => {
    const { createBackend, window } = await startedWindow()
    expect(protocol.registerSchemesAsPrivileged).toHaveBeenCalledWith([
      { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
    ])
    expect(app.enableSandbox).toHaveBeenCalled()
    expect(protocol.handle).toHaveBeenCalledWith('app', expect.any(Function))
    expect(session.defaultSession.headersListener).toBeDefined()
    expect(createBackend).toHaveBeenCalledWith({ dataDir: '/srv/outpost', host: 'electron', broker: { kind: 'embedded', host: '127.0.0.1', port: 0 } }, log)
    expect(window.loadedUrls).toEqual(['app://outpost/index.html'])
    expect(window.options.webPreferences).toMatchObject({ preload: '/opt/outpost/out/preload/index.cjs', sandbox: true, contextIsolation: true })
  })

  it('answers calls from the window over IPC and pushes events to it until it closes', async () => {
    const { backend, window } = await startedWindow()
    const contents = window.webContents
    ipcMain.emit(RPC_CHANNEL, { sender: contents, senderFrame: contents.mainFrame }, { kind: 'call', id: 7, method: 'system.info', input: {} })
    await vi.waitFor(() => expect(contents.sent).toHaveLength(1))
    expect(contents.sent[0]).toEqual({ channel: RPC_CHANNEL, message: { kind: 'result', id: 7, ok: true, value: systemInfo } satisfies RpcMessage })
    expect(backend.events.connectionCount).toBe(1)
    window.close()
    expect(backend.events.connectionCount).toBe(0)
  })

  it('ignores calls from a foreign origin', async () => {
    const { window } = await startedWindow()
    const contents = window.webContents
    ipcMain.emit(RPC_CHANNEL, { sender: contents, senderFrame: new FakeWebFrame('https://evil.example') }, { kind: 'call', id: 1, method: 'system.info', input: {} })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(contents.sent).toEqual([])
  })

  it('takes the data folder from OUTPOST_DATA_DIR when no flag names one', async () => {
    const { createBackend } = await startedWindow({ argv: ['outpost', '.'], env: { OUTPOST_DATA_DIR: '/srv/env-dir' } })
    expect(createBackend.mock.calls[0]?.[0].dataDir).toBe('/srv/env-dir')
  })

  it('loads the dev server and trusts its origin only when not packaged', async () => {
    app.isPackaged = false
    const { window } = await startedWindow({ env: { ELECTRON_RENDERER_URL: 'http://localhost:5173/' } })
    expect(window.loadedUrls).toEqual(['http://localhost:5173/'])
    const contents = window.webContents
    ipcMain.emit(RPC_CHANNEL, { sender: contents, senderFrame: new FakeWebFrame('http://localhost:5173') }, { kind: 'call', id: 1, method: 'devices.list', input: {} })
    await vi.waitFor(() => expect(contents.sent).toHaveLength(1))
  })

  it('ignores ELECTRON_RENDERER_URL in a packaged app', async () => {
    const { window } = await startedWindow({ env: { ELECTRON_RENDERER_URL: 'http://localhost:5173/' } })
    expect(window.loadedUrls).toEqual(['app://outpost/index.html'])
  })

  it('shows a startup AppError with its code and sentence, then exits with status 1', async () => {
    start(() => Promise.reject(new AppError('port-in-use', 'Port 1883 is in use; pass --broker-port to pick another')))
    await vi.waitFor(() => expect(app.exit).toHaveBeenCalledWith(1))
    expect(dialog.showErrorBox).toHaveBeenCalledWith('Outpost could not start', 'port-in-use: Port 1883 is in use; pass --broker-port to pick another')
    expect(BrowserWindow.instances).toEqual([])
  })

  it('reports an unexpected startup failure as internal without its stack, and exits with status 1', async () => {
    start(() => Promise.reject(new TypeError('x is undefined')))
    await vi.waitFor(() => expect(app.exit).toHaveBeenCalledWith(1))
    const [, detail] = dialog.showErrorBox.mock.calls[0] as [string, string]
    expect(detail).toMatch(/^internal: /)
    expect(detail).not.toContain('x is undefined')
  })

  it('refuses bad command-line input through the same dialog', async () => {
    const createBackend = vi.fn(() => Promise.reject(new Error('must not be called')))
    start(createBackend, { argv: ['outpost', '--broker-port', 'many'] })
    await vi.waitFor(() => expect(app.exit).toHaveBeenCalledWith(1))
    expect(dialog.showErrorBox.mock.calls[0]?.[1]).toMatch(/^invalid-input: --broker-port/)
    expect(createBackend).not.toHaveBeenCalled()
  })

  it('closes the backend before the app quits', async () => {
    const { backend, finishClose } = await startedWindow()
    app.quit()
    expect(backend.close).toHaveBeenCalledOnce()
    expect(app.ended).toBeUndefined()
    app.quit() // a second quit while closing must neither close twice nor skip the wait
    expect(backend.close).toHaveBeenCalledOnce()
    finishClose()
    await vi.waitFor(() => expect(app.ended).toEqual({ how: 'quit' }))
  })

  it('quits (closing the backend) when the last window closes', async () => {
    const { backend, finishClose, window } = await startedWindow()
    window.close()
    expect(backend.close).toHaveBeenCalledOnce()
    finishClose()
    await vi.waitFor(() => expect(app.ended).toEqual({ how: 'quit' }))
  })

  it('starts the demo fleet for --demo and stops it before closing the backend', async () => {
    const order: string[] = []
    const stop = vi.fn(() => {
      order.push('demo stopped')
      return Promise.resolve()
    })
    const startDemo = vi.fn((_backend: Backend, _dataDir: string) => Promise.resolve({ stop }))
    const { backend, finishClose } = await startedWindow({
      argv: ['/opt/outpost/outpost', '.', '--data-dir', '/srv/outpost', '--demo'],
      startDemo,
    })
    expect(startDemo).toHaveBeenCalledWith(backend, '/srv/outpost')
    backend.close.mockImplementation(() => {
      order.push('backend closed')
      return Promise.resolve()
    })
    app.quit()
    await vi.waitFor(() => expect(app.ended).toEqual({ how: 'quit' }))
    expect(order).toEqual(['demo stopped', 'backend closed'])
    finishClose()
  })

  it('does not start the demo fleet without --demo', async () => {
    const startDemo = vi.fn(() => Promise.resolve({ stop: () => Promise.resolve() }))
    await startedWindow({ startDemo })
    expect(startDemo).not.toHaveBeenCalled()
  })

  it('leaves a second instance to the first one', async () => {
    app.hasInstanceLock = false
    const createBackend = vi.fn(() => Promise.reject(new Error('must not be called')))
    start(createBackend)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(app.quit).toHaveBeenCalled()
    expect(createBackend).not.toHaveBeenCalled()
    expect(BrowserWindow.instances).toEqual([])
  })
})

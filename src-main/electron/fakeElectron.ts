/**
 * An in-memory stand-in for the parts of the 'electron' module the shell uses, for unit tests:
 * `vi.mock('electron', () => import('./fakeElectron.ts'))`. No Electron binary exists on our machines
 * (feasibility.md §6), so the shell's wiring is tested against these objects, which behave like Electron's where
 * the shell depends on it (events, preventDefault, quit sequence, window lifecycle).
 */
import { EventEmitter } from 'node:events'
import { vi } from 'vitest'

/** An event as Electron passes it to listeners that may cancel the default action. */
export class FakeEvent<Params extends object = object> {
  defaultPrevented = false
  constructor(params?: Params) {
    Object.assign(this, params)
  }
  preventDefault(): void {
    this.defaultPrevented = true
  }
}
export type FakeEventWith<Params extends object> = FakeEvent<Params> & Params
export const fakeEvent = <Params extends object>(params: Params) => new FakeEvent(params) as FakeEventWith<Params>

export class FakeWebFrame {
  readonly origin: string
  readonly parent: FakeWebFrame | null
  constructor(origin: string, parent: FakeWebFrame | null = null) {
    this.origin = origin
    this.parent = parent
  }
}

type WindowOpenHandler = (details: { url: string }) => { action: 'allow' | 'deny' }

let nextContentsId = 1
export class FakeWebContents extends EventEmitter {
  readonly id = nextContentsId++
  readonly sent: Array<{ channel: string; message: unknown }> = []
  mainFrame = new FakeWebFrame('app://outpost')
  windowOpenHandler: WindowOpenHandler | undefined
  private destroyed = false
  send(channel: string, message: unknown): void {
    if (this.destroyed) throw new Error('Object has been destroyed')
    this.sent.push({ channel, message })
  }
  setWindowOpenHandler(handler: WindowOpenHandler): void {
    this.windowOpenHandler = handler
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  destroy(): void {
    this.destroyed = true
  }
}

export class BrowserWindow extends EventEmitter {
  static readonly instances: BrowserWindow[] = []
  static getAllWindows(): BrowserWindow[] {
    return BrowserWindow.instances.filter((window) => !window.isDestroyed())
  }
  private static nextId = 1
  readonly id = BrowserWindow.nextId++
  readonly options: Record<string, unknown>
  readonly webContents = new FakeWebContents()
  readonly loadedUrls: string[] = []
  isShown = false
  isFocused = false
  private destroyed = false
  constructor(options: Record<string, unknown> = {}) {
    super()
    this.options = options
    BrowserWindow.instances.push(this)
    app.emit('web-contents-created', new FakeEvent(), this.webContents)
  }
  loadURL(url: string): Promise<void> {
    this.loadedUrls.push(url)
    return Promise.resolve()
  }
  show(): void {
    this.isShown = true
  }
  focus(): void {
    this.isFocused = true
  }
  isMinimized(): boolean {
    return false
  }
  restore(): void {}
  isDestroyed(): boolean {
    return this.destroyed
  }
  /** Like a user closing the window: 'closed' fires after the window and its contents are gone. */
  close(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.webContents.destroy()
    this.emit('closed')
    if (BrowserWindow.getAllWindows().length === 0) app.emit('window-all-closed')
  }
}

export const ipcMain = new EventEmitter()

class FakeApp extends EventEmitter {
  isPackaged = true
  /** Set by tests: what requestSingleInstanceLock answers. */
  hasInstanceLock = true
  /** 'quit' once the quit went through (no listener prevented it), 'exit' after app.exit. */
  ended: { how: 'quit' } | { how: 'exit'; code: number } | undefined
  private readyResolve: (() => void) | undefined
  private readyPromise = new Promise<void>((resolve) => (this.readyResolve = resolve))
  readonly requestSingleInstanceLock = vi.fn(() => this.hasInstanceLock)
  readonly enableSandbox = vi.fn()
  readonly getPath = vi.fn((name: string) => `/fake-electron/${name}`)
  readonly exit = vi.fn((code: number = 0) => {
    this.ended = { how: 'exit', code }
  })
  /** Electron's order: 'before-quit' (cancellable), then 'will-quit' (cancellable), then the process ends. */
  readonly quit = vi.fn(() => {
    const beforeQuit = new FakeEvent()
    this.emit('before-quit', beforeQuit)
    if (beforeQuit.defaultPrevented) return
    const willQuit = new FakeEvent()
    this.emit('will-quit', willQuit)
    if (!willQuit.defaultPrevented) this.ended = { how: 'quit' }
  })
  whenReady(): Promise<void> {
    return this.readyPromise
  }
  /** Fires 'ready' as Electron does once Chromium has started. */
  becomeReady(): void {
    this.readyResolve?.()
    this.emit('ready')
  }
  reset(): void {
    this.removeAllListeners()
    this.isPackaged = true
    this.hasInstanceLock = true
    this.ended = undefined
    this.readyPromise = new Promise<void>((resolve) => (this.readyResolve = resolve))
    for (const mock of [this.requestSingleInstanceLock, this.enableSandbox, this.getPath, this.exit, this.quit]) mock.mockClear()
  }
}
export const app = new FakeApp()

type HeadersListener = (
  details: { url: string; responseHeaders?: Record<string, string[]> },
  callback: (response: { responseHeaders?: Record<string, string | string[]> }) => void,
) => void

export class FakeSession {
  headersListener: HeadersListener | undefined
  permissionRequestHandler: ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void) | undefined
  permissionCheckHandler: ((contents: unknown, permission: string) => boolean) | undefined
  devicePermissionHandler: ((details: unknown) => boolean) | undefined
  readonly webRequest = {
    onHeadersReceived: (listener: HeadersListener) => {
      this.headersListener = listener
    },
  }
  setPermissionRequestHandler(handler: FakeSession['permissionRequestHandler']): void {
    this.permissionRequestHandler = handler
  }
  setPermissionCheckHandler(handler: FakeSession['permissionCheckHandler']): void {
    this.permissionCheckHandler = handler
  }
  setDevicePermissionHandler(handler: FakeSession['devicePermissionHandler']): void {
    this.devicePermissionHandler = handler
  }
}
export const session = { defaultSession: new FakeSession() }

export const protocol = {
  registerSchemesAsPrivileged: vi.fn(),
  handle: vi.fn(),
}
export const dialog = { showErrorBox: vi.fn() }
export const shell = { openExternal: vi.fn(() => Promise.resolve()) }

/** The renderer-side half, for the preload: what it exposed, and what it sent to main. */
export const contextBridge = {
  exposed: new Map<string, unknown>(),
  exposeInMainWorld: vi.fn((key: string, api: unknown) => {
    contextBridge.exposed.set(key, api)
  }),
}
class FakeIpcRenderer extends EventEmitter {
  readonly sent: Array<{ channel: string; message: unknown }> = []
  send(channel: string, message: unknown): void {
    this.sent.push({ channel, message })
  }
}
export const ipcRenderer = new FakeIpcRenderer()

/** Puts every fake back to its initial state (call in beforeEach). */
export function resetFakeElectron(): void {
  app.reset()
  ipcMain.removeAllListeners()
  BrowserWindow.instances.length = 0
  session.defaultSession = new FakeSession()
  protocol.registerSchemesAsPrivileged.mockClear()
  protocol.handle.mockClear()
  dialog.showErrorBox.mockClear()
  shell.openExternal.mockClear()
  contextBridge.exposed.clear()
  contextBridge.exposeInMainWorld.mockClear()
  ipcRenderer.removeAllListeners()
  ipcRenderer.sent.length = 0
}

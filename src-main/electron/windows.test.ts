import { beforeEach, describe, expect, it, vi } from 'vitest'
import { BrowserWindow, resetFakeElectron } from './fakeElectron.ts'
import { createMainWindow, hardenedWebPreferences } from './windows.ts'

vi.mock('electron', () => import('./fakeElectron.ts'))

describe('createMainWindow', () => {
  beforeEach(resetFakeElectron)

  it('creates the window with isolated, sandboxed, Node-free web preferences and our preload', () => {
    createMainWindow({ preloadPath: '/app/out/preload/index.cjs' })
    const window = BrowserWindow.instances[0]
    expect(window?.options.webPreferences).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
  })

  it('stays hidden until the first paint is ready', () => {
    createMainWindow({ preloadPath: '/p.cjs' })
    const window = BrowserWindow.instances[0]
    expect(window?.options.show).toBe(false)
    expect(window?.isShown).toBe(false)
    window?.emit('ready-to-show')
    expect(window?.isShown).toBe(true)
  })

  it('never enables Node in the page', () => {
    const preferences = hardenedWebPreferences('/p.cjs')
    expect(preferences.nodeIntegration).toBe(false)
    expect(preferences.nodeIntegrationInWorker).toBe(false)
    expect(preferences.contextIsolation).toBe(true)
  })
})

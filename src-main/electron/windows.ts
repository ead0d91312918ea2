import { BrowserWindow, type WebPreferences } from 'electron'

/**
 * The renderer runs as an untrusted web page: isolated world, Chromium sandbox, no Node, same-origin policy on.
 * The preload is the only bridge and must therefore be one CommonJS file (a sandboxed preload cannot load ESM).
 */
export function hardenedWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  }
}

export interface MainWindowOptions {
  /** Absolute path of the built preload, out/preload/index.cjs. */
  preloadPath: string
  title?: string
}

/** Creates the main window, shown once its first paint is ready so the user never sees a blank frame. */
export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    title: options.title ?? 'Outpost',
    width: 1280,
    height: 820,
    minWidth: 800,
    minHeight: 560,
    show: false,
    autoHideMenuBar: true,
    webPreferences: hardenedWebPreferences(options.preloadPath),
  })
  window.once('ready-to-show', () => window.show())
  return window
}


import { ipcMain, type BrowserWindow, type IpcMainEvent } from 'electron'
import { isRpcMessage, type RpcMessage, type Transport } from '../../src-shared/rpc/envelope.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'

/**
 * The one IPC channel between main and the renderer. One channel carrying the RPC envelope, rather than an
 * ipcMain.handle per method, keeps error codes intact (electron/electron#24427). src-preload/index.ts repeats this
 * name because the sandboxed preload may not import runtime code.
 */
export const RPC_CHANNEL = 'outpost:rpc'

/**
 * Transport over RPC_CHANNEL for one window. A message is delivered only when it comes from this window's web
 * contents, from its top frame (not an iframe), from the trusted origin, and has the envelope's shape; everything
 * else is dropped and logged (VS Code's validatedIpcMain does the same checks).
 */
export function createIpcTransport(window: BrowserWindow, trustedOrigin: string, log: Logger): Transport {
  const listeners = new Set<(message: RpcMessage) => void>()
  const contents = window.webContents

  const onIpc = (event: IpcMainEvent, message: unknown) => {
    if (event.sender !== contents) return // another window's traffic: its own transport handles it
    const frame = event.senderFrame
    if (frame === null || frame.parent !== null || frame.origin !== trustedOrigin) {
      log.warn('Dropped an IPC message from an untrusted frame', { origin: frame?.origin ?? null, isTopFrame: frame?.parent === null })
      return
    }
    if (!isRpcMessage(message)) {
      log.warn('Dropped an IPC message with a bad shape')
      return
    }
    for (const listener of listeners) listener(message)
  }

  ipcMain.on(RPC_CHANNEL, onIpc)
  window.once('closed', () => {
    ipcMain.removeListener(RPC_CHANNEL, onIpc)
    listeners.clear()
  })

  return {
    send(message) {
      if (window.isDestroyed() || contents.isDestroyed()) return
      contents.send(RPC_CHANNEL, message)
    },
    onMessage(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

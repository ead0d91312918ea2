/**
 * The whole preload. Sandboxed, so it is built as one CommonJS file (out/preload/index.cjs) and may use only
 * 'electron'; the src-shared imports below are type-only and vanish from the bundle. It exposes exactly one
 * Transport, `window.outpostTransport`, on one channel; main checks every message's sender.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import type { RpcMessage, Transport } from '../src-shared/rpc/envelope.ts'

/** Same name as RPC_CHANNEL in src-main/electron/ipcTransport.ts (a runtime import would leave the sandbox bundle). */
const RPC_CHANNEL = 'outpost:rpc'

const outpostTransport: Transport = {
  send(message: RpcMessage) {
    ipcRenderer.send(RPC_CHANNEL, message)
  },
  onMessage(listener: (message: RpcMessage) => void) {
    // Never hand the IpcRendererEvent to page code: it reaches ipcRenderer itself (Electron ipcRenderer docs).
    const relay = (_event: IpcRendererEvent, message: RpcMessage) => listener(message)
    ipcRenderer.on(RPC_CHANNEL, relay)
    return () => {
      ipcRenderer.removeListener(RPC_CHANNEL, relay)
    }
  },
}

contextBridge.exposeInMainWorld('outpostTransport', outpostTransport)

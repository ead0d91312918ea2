import type { Transport } from '../src-shared/rpc/envelope.ts'

declare global {
  interface Window {
    /** Exposed by the Electron preload (contextBridge); absent when a browser hosts the UI in headless mode. */
    outpostTransport?: Transport
  }
}

export {}

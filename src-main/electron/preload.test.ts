/**
 * Tests src-preload/index.ts. It lives here because the node test project covers src-main, and the preload's
 * counterpart (the IPC transport) is here; eslint.config.js allows this one file to import the preload.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { RpcMessage, Transport } from '../../src-shared/rpc/envelope.ts'
import { contextBridge, FakeEvent, ipcRenderer, resetFakeElectron } from './fakeElectron.ts'
import { RPC_CHANNEL } from './ipcTransport.ts'

vi.mock('electron', () => import('./fakeElectron.ts'))

const call: RpcMessage = { kind: 'call', id: 1, method: 'devices.list', input: {} }

async function loadPreload(): Promise<Transport> {
  vi.resetModules()
  await import('../../src-preload/index.ts')
  return contextBridge.exposed.get('outpostTransport') as Transport
}

describe('preload', () => {
  beforeEach(resetFakeElectron)

  it('exposes exactly one API, the transport with send and onMessage', async () => {
    const transport = await loadPreload()
    expect([...contextBridge.exposed.keys()]).toEqual(['outpostTransport'])
    expect(Object.keys(transport).sort()).toEqual(['onMessage', 'send'])
  })

  it('sends on the channel main listens to', async () => {
    const transport = await loadPreload()
    transport.send(call)
    expect(ipcRenderer.sent).toEqual([{ channel: RPC_CHANNEL, message: call }])
  })

  it('hands page code the message only, never the IPC event', async () => {
    const transport = await loadPreload()
    const listener = vi.fn()
    transport.onMessage(listener)
    ipcRenderer.emit(RPC_CHANNEL, new FakeEvent({ sender: ipcRenderer }), call)
    expect(listener.mock.calls).toEqual([[call]])
  })

  it('stops relaying once the listener unsubscribes', async () => {
    const transport = await loadPreload()
    const listener = vi.fn()
    const stop = transport.onMessage(listener)
    stop()
    ipcRenderer.emit(RPC_CHANNEL, new FakeEvent(), call)
    expect(listener).not.toHaveBeenCalled()
    expect(ipcRenderer.listenerCount(RPC_CHANNEL)).toBe(0)
  })
})

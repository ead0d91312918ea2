import type { BrowserWindow as ElectronWindow } from 'electron'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { RpcMessage } from '../../src-shared/rpc/envelope.ts'
import { BrowserWindow, FakeWebContents, FakeWebFrame, ipcMain, resetFakeElectron } from './fakeElectron.ts'
import { createIpcTransport, RPC_CHANNEL } from './ipcTransport.ts'

vi.mock('electron', () => import('./fakeElectron.ts'))

const ORIGIN = 'app://outpost'
const call: RpcMessage = { kind: 'call', id: 1, method: 'system.info', input: {} }
const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() }

function setup() {
  const window = new BrowserWindow()
  const transport = createIpcTransport(window as unknown as ElectronWindow, ORIGIN, log)
  const received: RpcMessage[] = []
  transport.onMessage((message) => received.push(message))
  const sendFrom = (sender: FakeWebContents, senderFrame: FakeWebFrame | null, message: unknown) =>
    ipcMain.emit(RPC_CHANNEL, { sender, senderFrame }, message)
  return { window, transport, received, sendFrom }
}

describe('createIpcTransport', () => {
  beforeEach(() => {
    resetFakeElectron()
    log.warn.mockClear()
  })

  it('delivers a well-formed message from the window top frame on the trusted origin', () => {
    const { window, received, sendFrom } = setup()
    sendFrom(window.webContents, window.webContents.mainFrame, call)
    expect(received).toEqual([call])
  })

  it('drops messages from another web contents', () => {
    const { received, sendFrom } = setup()
    sendFrom(new FakeWebContents(), new FakeWebFrame(ORIGIN), call)
    expect(received).toEqual([])
  })

  it('drops messages from a subframe, even on the trusted origin', () => {
    const { window, received, sendFrom } = setup()
    sendFrom(window.webContents, new FakeWebFrame(ORIGIN, window.webContents.mainFrame), call)
    expect(received).toEqual([])
    expect(log.warn).toHaveBeenCalledOnce()
  })

  it('drops messages from a top frame on a foreign origin', () => {
    const { window, received, sendFrom } = setup()
    sendFrom(window.webContents, new FakeWebFrame('https://evil.example'), call)
    sendFrom(window.webContents, new FakeWebFrame('app://outpost.evil'), call)
    expect(received).toEqual([])
  })

  it('drops messages whose sender frame is gone', () => {
    const { window, received, sendFrom } = setup()
    sendFrom(window.webContents, null, call)
    expect(received).toEqual([])
  })

  it('drops messages that are not RPC envelopes', () => {
    const { window, received, sendFrom } = setup()
    for (const bad of [null, 'call', { kind: 'call', id: -1, method: 'x', input: {} }, { kind: 'call', id: 1 }, { kind: 'exec', cmd: 'rm' }]) {
      sendFrom(window.webContents, window.webContents.mainFrame, bad)
    }
    expect(received).toEqual([])
    expect(log.warn).toHaveBeenCalledTimes(5)
  })

  it('sends on the RPC channel to its window only', () => {
    const { window, transport } = setup()
    const event: RpcMessage = { kind: 'event', topic: 'device.changed', payload: {} }
    transport.send(event)
    expect(window.webContents.sent).toEqual([{ channel: RPC_CHANNEL, message: event }])
  })

  it('stops listening and sending once the window is closed', () => {
    const { window, transport, received, sendFrom } = setup()
    expect(ipcMain.listenerCount(RPC_CHANNEL)).toBe(1)
    window.close()
    expect(ipcMain.listenerCount(RPC_CHANNEL)).toBe(0)
    expect(() => transport.send(call)).not.toThrow()
    sendFrom(window.webContents, window.webContents.mainFrame, call)
    expect(received).toEqual([])
  })

  it('keeps two windows apart', () => {
    const first = setup()
    const second = setup()
    first.sendFrom(first.window.webContents, first.window.webContents.mainFrame, call)
    expect(first.received).toEqual([call])
    expect(second.received).toEqual([])
  })
})

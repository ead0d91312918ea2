import { afterEach, describe, expect, it } from 'vitest'
import { MAX_UPLOAD_BYTES } from '../../src-shared/contract/modelsContract.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { RpcMessage, Transport } from '../../src-shared/rpc/envelope.ts'
import type { Connection, ConnectionState } from '../api/connection.ts'
import { createOutpostClient } from '../api/outpostClient.ts'
import { aDevice, aModel } from '../testing/builders.ts'
import { createTestServer, type TestServer } from '../testing/createTestServer.ts'
import { connectedStore } from '../testing/renderWithServer.tsx'
import { bindConnection } from './bindConnection.ts'
import { createAppStore, type AppStore } from './createAppStore.ts'

let server: TestServer | undefined
afterEach(() => server?.close())

/** Polls the store on the microtask/timer queue until the predicate holds; bounded so a broken test fails. */
async function waitForState(store: AppStore, predicate: (state: ReturnType<AppStore['getState']>) => boolean) {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (predicate(store.getState())) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error('store never reached the expected state')
}

function loaded(options: Parameters<typeof connectedStore>[0] = {}) {
  const context = connectedStore(options)
  server = context.server
  return context
}

function fileOf(name: string, bytes: Uint8Array) {
  return { name, size: bytes.length, arrayBuffer: async () => bytes.slice().buffer }
}

describe('app store over the RPC contract', () => {
  it('loads system info, devices and models when the connection opens', async () => {
    const { store } = loaded({ devices: [aDevice({ deviceId: 'd-2' }), aDevice({ deviceId: 'd-1' })], models: [aModel()] })
    await waitForState(store, (s) => s.devicesLoad === 'ready' && s.modelsLoad === 'ready' && s.infoLoad === 'ready')
    expect(Object.keys(store.getState().devicesById).sort()).toEqual(['d-1', 'd-2'])
    expect(store.getState().modelsById['m-0123456789ab']?.name).toBe('tiny-classifier')
    expect(store.getState().info?.brokerUrl).toBe('mqtt://127.0.0.1:1883')
  })

  it('applies a pushed device.changed without asking for the list again', async () => {
    const { store, server: testServer } = loaded({ devices: [aDevice({ deviceId: 'd-1', isOnline: false })] })
    await waitForState(store, (s) => s.devicesLoad === 'ready')
    const listCalls = testServer.calls.filter((method) => method === 'devices.list').length
    testServer.changeDevice(aDevice({ deviceId: 'd-1', isOnline: true, executionProvider: 'cpu' }))
    testServer.changeDevice(aDevice({ deviceId: 'd-9' }))
    await waitForState(store, (s) => s.devicesById['d-9'] !== undefined)
    expect(store.getState().devicesById['d-1']?.isOnline).toBe(true)
    expect(store.getState().devicesById['d-1']?.executionProvider).toBe('cpu')
    expect(testServer.calls.filter((method) => method === 'devices.list').length).toBe(listCalls)
  })

  it('keeps a push that lands between the list result and its continuation', async () => {
    const listeners = new Set<(message: RpcMessage) => void>()
    const transport: Transport = {
      onMessage: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
      send(message) {
        if (message.kind !== 'call') return
        const deliver = (reply: RpcMessage) => listeners.forEach((listener) => listener(reply))
        // The stale list and a newer push arrive back to back, before the awaiting code resumes.
        deliver({ kind: 'result', id: message.id, ok: true, value: [aDevice({ deviceId: 'd-1', isOnline: false })] })
        deliver({ kind: 'event', topic: 'device.changed', payload: aDevice({ deviceId: 'd-1', isOnline: true }) })
      },
    }
    const store = createAppStore(createOutpostClient(transport))
    await store.getState().loadDevices()
    expect(store.getState().devicesById['d-1']?.isOnline).toBe(true)
  })

  it('applies a pushed model.changed', async () => {
    const { store, server: testServer } = loaded()
    await waitForState(store, (s) => s.modelsLoad === 'ready')
    testServer.hub.emit('model.changed', aModel({ modelId: 'm-aaaaaaaaaaaa', name: 'pushed' }))
    await waitForState(store, (s) => s.modelsById['m-aaaaaaaaaaaa'] !== undefined)
    expect(store.getState().modelsById['m-aaaaaaaaaaaa']?.name).toBe('pushed')
  })

  it('keeps a failed load as its error code and message', async () => {
    server = createTestServer()
    server.failNext('devices.list', new AppError('database-corrupt', 'outpost.db is not a database'))
    const store = createAppStore(createOutpostClient(server.transport, { validate: true }))
    await store.getState().loadDevices()
    expect(store.getState().devicesLoad).toEqual({ error: { code: 'database-corrupt', message: 'outpost.db is not a database' } })
  })

  it('sends a file base64-encoded and records the imported model', async () => {
    const { store, server: testServer } = loaded()
    // Larger than one encoding chunk, so the chunk seams are covered.
    const bytes = Uint8Array.from({ length: 100_003 }, (_, index) => (index === 0 ? 0x08 : (index * 31) % 256))
    await store.getState().uploadModel(fileOf('classifier.onnx', bytes), { name: ' classifier ', version: '' })
    const upload = store.getState().upload
    expect(upload.status).toBe('done')
    expect(testServer.uploads[0]?.bytes).toEqual(bytes)
    if (upload.status !== 'done') return
    expect(upload.model.name).toBe('classifier')
    expect(upload.model.version).toBe('1')
    expect(store.getState().modelsById[upload.model.modelId]?.sizeBytes).toBe(bytes.length)
  })

  it('keeps the code when the server rejects an upload', async () => {
    const { store } = loaded()
    await store.getState().uploadModel(fileOf('notes.onnx', Uint8Array.from([1, 2, 3])))
    expect(store.getState().upload).toMatchObject({ status: 'failed', fileName: 'notes.onnx', error: { code: 'model-invalid' } })
  })

  it('refuses a file over the upload limit without reading it', async () => {
    const { store, server: testServer } = loaded()
    let wasRead = false
    const huge = { name: 'huge.onnx', size: MAX_UPLOAD_BYTES + 1, arrayBuffer: async () => ((wasRead = true), new ArrayBuffer(0)) }
    await store.getState().uploadModel(huge)
    expect(store.getState().upload).toMatchObject({ status: 'failed', error: { code: 'message-too-large' } })
    expect(wasRead).toBe(false)
    expect(testServer.uploads).toHaveLength(0)
  })

  it('deploys to devices and records the directives', async () => {
    const { store } = loaded({ devices: [aDevice({ deviceId: 'd-1' }), aDevice({ deviceId: 'd-2' })], models: [aModel()] })
    await store.getState().deployModel('m-0123456789ab', ['d-1', 'd-2'])
    expect(store.getState().deploy).toEqual({
      status: 'done',
      modelId: 'm-0123456789ab',
      directives: [
        { deviceId: 'd-1', seq: 1 },
        { deviceId: 'd-2', seq: 1 },
      ],
    })
    await waitForState(store, (s) => s.devicesById['d-2']?.desiredModelId === 'm-0123456789ab')
  })

  it('records not-found when deploying to an unknown device', async () => {
    const { store } = loaded({ devices: [aDevice({ deviceId: 'd-1' })], models: [aModel()] })
    await store.getState().deployModel('m-0123456789ab', ['ghost'])
    expect(store.getState().deploy).toMatchObject({ status: 'failed', error: { code: 'not-found' } })
  })

  it('records invalid-input when the contract rejects the request', async () => {
    const { store } = loaded()
    await store.getState().deployModel('not-a-model-id', ['d-1'])
    expect(store.getState().deploy).toMatchObject({ status: 'failed', error: { code: 'invalid-input' } })
  })

  it('mirrors the connection state and reloads everything on reconnect', async () => {
    server = createTestServer({ devices: [aDevice({ deviceId: 'd-1' })] })
    const listeners = new Set<(state: ConnectionState) => void>()
    let state: ConnectionState = { status: 'connecting', attempt: 0 }
    const connection: Connection = {
      transport: server.transport,
      getState: () => state,
      onStateChange: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
      close: () => {},
    }
    const move = (next: ConnectionState) => ((state = next), listeners.forEach((listener) => listener(next)))
    const store = createAppStore(createOutpostClient(server.transport, { validate: true }))
    bindConnection(store, connection)
    expect(server.calls).toEqual([])

    move({ status: 'connected' })
    await waitForState(store, (s) => s.devicesLoad === 'ready')
    move({ status: 'disconnected', reason: 'Lost the connection', retryInMs: 1000 })
    expect(store.getState().connection).toEqual({ status: 'disconnected', reason: 'Lost the connection', retryInMs: 1000 })
    server.devices.set('d-2', aDevice({ deviceId: 'd-2' }))
    move({ status: 'connected' })
    await waitForState(store, (s) => s.devicesById['d-2'] !== undefined)
    expect(server.calls.filter((method) => method === 'devices.list')).toHaveLength(2)
    expect(server.calls.filter((method) => method === 'system.info')).toHaveLength(2)
  })
})

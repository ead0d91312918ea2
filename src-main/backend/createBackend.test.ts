import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { connectAsync, type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tinyClassifierPath } from '../../fixtures/scripts/generateModels.ts'
import { outpostEvents, outpostMethods } from '../../src-shared/contract/index.ts'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { ChunkList, Directive, encodeMessage } from '../../src-shared/protocol/messages.ts'
import { topics } from '../../src-shared/protocol/topics.ts'
import { createRpcClient } from '../../src-shared/rpc/createRpcClient.ts'
import { memoryTransportPair } from '../../src-shared/rpc/memoryTransport.ts'
import { serveContract } from '../../src-shared/rpc/serveContract.ts'
import { aChunkListRequest, aChunkRequest, aStatus, aSync, aTelemetryWindow, anInstallReport } from '../services/testing/deviceMessages.ts'
import { startEmbeddedBroker } from '../adapters/mqtt/embeddedBroker.ts'
import { buildWideModel } from './testing/wideModel.ts'
import { createBackend, listDevicesFromDataDir, type Backend, type BackendConfig } from './createBackend.ts'

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const productVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

let dataDir: string
const backends: Backend[] = []
const devices: MqttClient[] = []

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'outpost-backend-'))
})
afterEach(async () => {
  await Promise.all(devices.splice(0).map((device) => device.endAsync(true)))
  for (const backend of backends.splice(0)) await backend.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const embedded = (dir = dataDir): BackendConfig => ({ dataDir: dir, host: 'headless', broker: { kind: 'embedded', host: '127.0.0.1', port: 0 } })

async function start(config: BackendConfig = embedded()) {
  const backend = await createBackend(config, silentLogger)
  backends.push(backend)
  const [serverSide, clientSide] = memoryTransportPair()
  serveContract(outpostMethods, backend.handlers, serverSide, silentLogger, { connectionId: 'test' })
  backend.events.attach(serverSide)
  const client = createRpcClient(outpostMethods, outpostEvents, clientSide, { validate: true, callTimeoutMs: 10_000 })
  return { backend, client }
}

/** Plays an agent with a plain MQTT client: collects everything on its down/ subtree. */
async function connectDevice(credentials: { brokerUrl: string; deviceId: string; username: string; password: string }) {
  const mqtt = await connectAsync(
    credentials.brokerUrl,
    { clientId: credentials.deviceId, username: credentials.username, password: credentials.password, reconnectPeriod: 0 },
    false,
  )
  devices.push(mqtt)
  const inbox: Array<{ topic: string; payload: Buffer }> = []
  const waiters = new Set<() => void>()
  mqtt.on('message', (topic, payload) => {
    inbox.push({ topic, payload })
    for (const wake of waiters) wake()
  })
  await mqtt.subscribeAsync(topics.deviceDownFilter(credentials.deviceId), { qos: 1 })
  return {
    mqtt,
    publish: (topic: string, message: unknown) => mqtt.publishAsync(topic, Buffer.from(encodeMessage(message)), { qos: 1 }),
    /** Takes the first message received on `topic`, waiting up to 10 s. */
    take(topic: string): Promise<Buffer> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const index = inbox.findIndex((message) => message.topic === topic)
          if (index < 0) return false
          clearTimeout(timer)
          waiters.delete(check)
          resolve(inbox.splice(index, 1)[0]!.payload)
          return true
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`No message on ${topic} within 10 s`))
        }, 10_000)
        waiters.add(check)
        check()
      })
    },
  }
}

/** Polls (bounded) until `read` returns a value that satisfies `isDone`. */
async function eventually<T>(read: () => Promise<T>, isDone: (value: T) => boolean): Promise<T> {
  let value = await read()
  for (let attempt = 0; attempt < 200 && !isDone(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    value = await read()
  }
  return value
}

async function fetchArtifact(device: Awaited<ReturnType<typeof connectDevice>>, deviceId: string, directive: Directive) {
  if (directive.action !== 'install') throw new Error('expected an install directive')
  const { sha256: artifactSha256 } = directive.artifact
  await device.publish(topics.request(deviceId), aChunkListRequest(deviceId, artifactSha256))
  const listBytes = await device.take(topics.chunkList(deviceId, artifactSha256))
  expect(sha256(listBytes)).toBe(directive.artifact.chunkListSha256)
  const list = ChunkList.parse(JSON.parse(listBytes.toString('utf8')))
  expect(list.chunks).toHaveLength(directive.artifact.chunkCount)
  const parts: Buffer[] = []
  for (let index = 0; index < list.chunks.length; index++) {
    await device.publish(topics.request(deviceId), aChunkRequest(deviceId, artifactSha256, index))
    const chunk = await device.take(topics.chunk(deviceId, artifactSha256, index))
    expect(sha256(chunk)).toBe(list.chunks[index])
    parts.push(chunk)
  }
  return Buffer.concat(parts)
}

describe('createBackend', () => {
  it('runs the skeleton journey: enroll, sync, deploy, download, commit, report latency', async () => {
    const { backend, client } = await start()
    const changes: DeviceSummary[] = []
    client.on('device.changed', (device) => changes.push(device))

    const info = await client.call('system.info', {})
    expect(info).toMatchObject({ productVersion, host: 'headless', dataDir, brokerKind: 'embedded', databaseFile: join(dataDir, 'outpost.db') })
    expect(info.brokerUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/)
    expect(backend.info).toEqual(info)
    expect(statSync(join(dataDir, 'broker-secret')).mode & 0o777).toBe(0o600)

    const credentials = await client.call('devices.enroll', { deviceId: 'd-1' })
    expect(credentials).toMatchObject({ deviceId: 'd-1', username: 'd-1', brokerUrl: info.brokerUrl })
    const device = await connectDevice(credentials)

    await device.publish(topics.status('d-1'), aStatus('d-1', { at: new Date().toISOString() }))
    await device.publish(topics.sync('d-1'), aSync('d-1'))
    expect(Directive.parse(JSON.parse((await device.take(topics.desired('d-1'))).toString()))).toMatchObject({ action: 'noop', seq: 0 })

    const modelBytes = readFileSync(tinyClassifierPath)
    const model = await client.call('models.upload', { fileName: 'tiny-classifier.onnx', contentBase64: modelBytes.toString('base64') })
    expect(model).toMatchObject({ name: 'tiny-classifier', version: '1', sha256: sha256(modelBytes), sizeBytes: modelBytes.length })
    expect(model.inputs).toEqual([{ name: 'features', elementType: 'float32', shape: ['batch', 16] }])
    expect(await client.call('models.list', {})).toEqual([model])

    expect(await client.call('models.deploy', { modelId: model.modelId, deviceIds: ['d-1'] })).toEqual({ directives: [{ deviceId: 'd-1', seq: 1 }] })
    const install = Directive.parse(JSON.parse((await device.take(topics.desired('d-1'))).toString()))
    expect(install).toMatchObject({ action: 'install', seq: 1, artifact: { modelId: model.modelId, sha256: model.sha256 } })
    expect(sha256(await fetchArtifact(device, 'd-1', install))).toBe(model.sha256)

    await device.publish(topics.report('d-1'), anInstallReport('d-1', { directiveSeq: 1, modelSha256: model.sha256, state: 'committed', progress: 1, executionProvider: 'cpu' }))
    const window = aTelemetryWindow('d-1', { reportSeq: 1, modelSha256: model.sha256, requestCount: 200 })
    await device.publish(topics.telemetry('d-1'), window)
    await device.publish(topics.telemetry('d-1'), window)

    const [listed] = await eventually(
      () => client.call('devices.list', {}),
      (list) => list[0]?.latency?.requestCount === 200 && list[0]?.activeModel !== null,
    )
    expect(listed).toMatchObject({
      deviceId: 'd-1', isOnline: true, desiredModelId: model.modelId, executionProvider: 'cpu',
      activeModel: { modelId: model.modelId, name: 'tiny-classifier', version: '1', sha256: model.sha256 },
      install: { state: 'committed', progress: 1 },
      latency: { requestCount: 200, errorCount: 0 },
    })
    expect(listed!.latency!.p95Ms).toBeGreaterThan(listed!.latency!.p50Ms)
    expect(changes.some((change) => change.activeModel?.modelId === model.modelId)).toBe(true)
    expect(await client.call('devices.get', { deviceId: 'd-1' })).toEqual(listed)

    // The duplicate window was stored once; the CLI's read-only path sees the same device while the server runs.
    const reader = new Database(join(dataDir, 'outpost.db'), { readonly: true })
    expect(reader.prepare('SELECT count(*) FROM telemetry_windows').pluck().get()).toBe(1)
    reader.close()
    expect((await listDevicesFromDataDir(dataDir))[0]).toMatchObject({ deviceId: 'd-1', isOnline: true, activeModel: { modelId: model.modelId } })

    await backend.close()
    await backend.close()
    expect((await listDevicesFromDataDir(dataDir))[0]).toMatchObject({ deviceId: 'd-1', isOnline: false })
  })

  it('delivers a multi-chunk model byte for byte through the embedded broker', async () => {
    const { client } = await start()
    const wide = buildWideModel(6000)
    const file = join(dataDir, 'wide.onnx')
    writeFileSync(file, wide)
    const model = await client.call('models.importFile', { path: file, name: 'wide', version: '7' })
    expect(model).toMatchObject({ name: 'wide', version: '7', sourceFileName: 'wide.onnx', sizeBytes: wide.length })
    const credentials = await client.call('devices.enroll', { deviceId: 'd-2' })
    const device = await connectDevice(credentials)
    await client.call('models.deploy', { modelId: model.modelId, deviceIds: ['d-2'] })
    const install = Directive.parse(JSON.parse((await device.take(topics.desired('d-2'))).toString()))
    expect(install.action === 'install' && install.artifact.chunkCount).toBe(3)
    expect((await fetchArtifact(device, 'd-2', install)).equals(Buffer.from(wide))).toBe(true)
  })

  it('carries error codes and schema rejections across the RPC transport', async () => {
    const { client } = await start()
    await expect(client.call('devices.get', { deviceId: 'd-404' })).rejects.toMatchObject({ code: 'not-found' })
    await expect(client.call('devices.enroll', { deviceId: 'bad/id' })).rejects.toMatchObject({ code: 'invalid-input' })
    await expect(client.call('models.upload', { fileName: 'junk.onnx', contentBase64: Buffer.from('junk').toString('base64') })).rejects.toMatchObject({
      code: 'model-invalid',
    })
    await expect(client.call('models.upload', { fileName: 'x.onnx', contentBase64: '@@@@' })).rejects.toMatchObject({ code: 'invalid-input' })
    await expect(client.call('models.deploy', { modelId: 'm-000000000000', deviceIds: ['d-1'] })).rejects.toMatchObject({ code: 'not-found' })
    expect(await client.call('models.list', {})).toEqual([])
  })

  it('refuses a device with the wrong password at the broker', async () => {
    const { client } = await start()
    const credentials = await client.call('devices.enroll', { deviceId: 'd-3' })
    await expect(connectDevice({ ...credentials, password: 'wrong' })).rejects.toThrow(/Bad username|Not authorized/i)
  })

  it('connects to an external broker with the given credentials', async () => {
    const broker = await startEmbeddedBroker({
      host: '127.0.0.1', port: 0, controlCenterSecret: 'external-secret-0123456789', verifyDevicePassword: async () => false, log: silentLogger,
    })
    try {
      const url = broker.url.replace('mqtt://', 'mqtt://control-center:external-secret-0123456789@')
      const { backend, client } = await start({ dataDir, host: 'electron', broker: { kind: 'external', url } })
      expect(await client.call('system.info', {})).toMatchObject({ brokerKind: 'external', brokerUrl: broker.url, host: 'electron' })
      expect((await client.call('devices.enroll', { deviceId: 'd-5' })).brokerUrl).toBe(broker.url)
      await backend.close()
      const refused = await createBackend(
        { dataDir, host: 'headless', broker: { kind: 'external', url: broker.url, username: 'control-center', password: 'wrong' } },
        silentLogger,
      ).catch((e: unknown) => e)
      expect((refused as AppError).code).toBe('unauthorized')
    } finally {
      await broker.close()
    }
  })

  it('fails with port-in-use when the broker port is taken, leaving its data dir reusable', async () => {
    const { backend } = await start()
    const port = Number(new URL(backend.info.brokerUrl).port)
    const otherDir = mkdtempSync(join(tmpdir(), 'outpost-backend-other-'))
    try {
      const config: BackendConfig = { dataDir: otherDir, host: 'headless', broker: { kind: 'embedded', host: '127.0.0.1', port } }
      const error = await createBackend(config, silentLogger).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('port-in-use')
      expect((error as AppError).message).toBe(`MQTT port ${port} on 127.0.0.1 is in use; pass --broker-port <n> or stop the other broker`)
      const retry = await createBackend(embedded(otherDir), silentLogger)
      await retry.close()
    } finally {
      rmSync(otherDir, { recursive: true, force: true })
    }
  })

  it.each([
    ['data-dir-unwritable', () => {
      writeFileSync(join(dataDir, 'a-file'), '')
      return embedded(join(dataDir, 'a-file', 'data'))
    }],
    ['database-corrupt', () => {
      writeFileSync(join(dataDir, 'outpost.db'), 'not a database at all, '.repeat(100))
      return embedded()
    }],
    ['broker-url-invalid', (): BackendConfig => ({ dataDir, host: 'headless', broker: { kind: 'external', url: 'localhost:1883' } })],
  ] as const)('fails with %s', async (code, makeConfig) => {
    const config = makeConfig()
    const before = code === 'database-corrupt' ? readFileSync(join(dataDir, 'outpost.db')) : undefined
    await expect(createBackend(config, silentLogger)).rejects.toMatchObject({ code })
    if (before) expect(readFileSync(join(dataDir, 'outpost.db')).equals(before)).toBe(true)
  })
})

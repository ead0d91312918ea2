import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tinyClassifierPath } from '../../fixtures/scripts/generateModels.ts'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { ChunkList, Directive, encodeMessage } from '../../src-shared/protocol/messages.ts'
import { topics } from '../../src-shared/protocol/topics.ts'
import { createManualClock } from '../adapters/clock/systemClock.ts'
import { nodeContentHasher } from '../adapters/crypto/nodeContentHasher.ts'
import { createScryptCredentialHasher } from '../adapters/crypto/scryptCredentialHasher.ts'
import { createFsModelStore } from '../adapters/fs/fsModelStore.ts'
import { createOnnxModelInspector } from '../adapters/onnx/onnxModelInspector.ts'
import { openDatabase, type SqliteDatabase } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteDeviceRepository } from '../adapters/sqlite/sqliteDeviceRepository.ts'
import { createSqliteDirectiveRepository } from '../adapters/sqlite/sqliteDirectiveRepository.ts'
import { createSqliteModelRepository } from '../adapters/sqlite/sqliteModelRepository.ts'
import { createSqliteTelemetryRepository } from '../adapters/sqlite/sqliteTelemetryRepository.ts'
import type { MessageBus } from '../ports/MessageBus.ts'
import { createDevicePasswordCheck, createDevicesService } from '../services/devicesService.ts'
import { createFleetService } from '../services/fleetService.ts'
import { createModelService } from '../services/modelService.ts'
import { aChunkListRequest, aChunkRequest, aStatus, aSync, aTelemetryWindow, anInstallReport } from '../services/testing/deviceMessages.ts'

/** A MessageBus that records what the services publish (the broker itself is tested in adapters/mqtt). */
function createRecordingBus() {
  const published: Array<{ topic: string; payload: Uint8Array }> = []
  const bus: MessageBus = {
    publish: async (topic, payload) => {
      published.push({ topic, payload: Uint8Array.from(payload) })
    },
    subscribe: async () => {},
    onMessage: () => () => {},
    close: async () => {},
  }
  return { bus, published, on: (topic: string) => published.filter((message) => message.topic === topic) }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const json = (payload: Uint8Array) => JSON.parse(Buffer.from(payload).toString('utf8')) as unknown

let dir: string
let db: SqliteDatabase
let setup: ReturnType<typeof build>

function build() {
  const recording = createRecordingBus()
  const clock = createManualClock(Date.UTC(2025, 0, 1))
  const changed: DeviceSummary[] = []
  const notifier = { deviceChanged: (device: DeviceSummary) => changed.push(device), modelChanged: () => {} }
  const devices = createSqliteDeviceRepository(db)
  const models = createSqliteModelRepository(db)
  const directives = createSqliteDirectiveRepository(db)
  const telemetry = createSqliteTelemetryRepository(db)
  const store = createFsModelStore(join(dir, 'models'))
  const credentials = createScryptCredentialHasher()
  const common = { clock, notifier, log: silentLogger, bus: recording.bus }
  const fleet = createFleetService({ ...common, devices, models, directives, telemetry, store })
  const modelService = createModelService({
    ...common, models, devices, directives, store, inspector: createOnnxModelInspector(), hasher: nodeContentHasher,
  })
  const devicesService = createDevicesService({ ...common, devices, credentials, brokerUrl: 'mqtt://127.0.0.1:1883' })
  const send = (topic: string, message: unknown) => fleet.handleMessage(topic, encodeMessage(message))
  return { ...recording, clock, changed, fleet, modelService, devicesService, devices, credentials, send }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-fleet-'))
  db = openDatabase(join(dir, 'outpost.db'))
  setup = build()
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('FleetService', () => {
  it('answers a sync with a noop when nothing was deployed, and records the device', async () => {
    await setup.devicesService.enroll('d-1')
    await setup.send(topics.sync('d-1'), aSync('d-1'))
    const [answer] = setup.on(topics.desired('d-1'))
    expect(Directive.parse(json(answer!.payload))).toMatchObject({ action: 'noop', seq: 0, deviceId: 'd-1' })
    expect(await setup.devicesService.get('d-1')).toMatchObject({ isOnline: true, agentVersion: '0.1.0' })
    expect(setup.changed.at(-1)!.deviceId).toBe('d-1')
  })

  it('serves the chunk list and chunks of a deployed model, and only to the device it was deployed to', async () => {
    await setup.devicesService.enroll('d-1')
    await setup.devicesService.enroll('d-2')
    const model = await setup.modelService.importFile(tinyClassifierPath, {})
    await setup.modelService.deploy(model.modelId, ['d-1'])
    await setup.fleet.idle()
    const directive = Directive.parse(json(setup.on(topics.desired('d-1'))[0]!.payload))
    if (directive.action !== 'install') throw new Error('expected an install directive')

    await setup.send(topics.request('d-1'), aChunkListRequest('d-1', model.sha256))
    const listPayload = setup.on(topics.chunkList('d-1', model.sha256))[0]!.payload
    expect(sha256(listPayload)).toBe(directive.artifact.chunkListSha256)
    const list = ChunkList.parse(json(listPayload))
    const parts: Uint8Array[] = []
    for (let index = 0; index < list.chunks.length; index++) {
      await setup.send(topics.request('d-1'), aChunkRequest('d-1', model.sha256, index))
      const chunk = setup.on(topics.chunk('d-1', model.sha256, index))[0]!.payload
      expect(sha256(chunk)).toBe(list.chunks[index])
      parts.push(chunk)
    }
    expect(Buffer.concat(parts).equals(readFileSync(tinyClassifierPath))).toBe(true)

    await setup.send(topics.request('d-2'), aChunkListRequest('d-2', model.sha256))
    await setup.send(topics.request('d-1'), aChunkRequest('d-1', model.sha256, list.chunks.length))
    expect(setup.on(topics.chunkList('d-2', model.sha256))).toHaveLength(0)
    expect(setup.fleet.droppedMessageCounts()).toMatchObject({ 'unknown-artifact': 1, 'chunk-out-of-range': 1 })
  })

  it('drops malformed, oversized, mismatched and unknown messages by reason without failing', async () => {
    await setup.devicesService.enroll('d-1')
    await setup.fleet.handleMessage(topics.heartbeat('d-1'), new TextEncoder().encode('{not json'))
    await setup.fleet.handleMessage(topics.status('d-1'), new Uint8Array(17 * 1024).fill(0x20))
    await setup.send(topics.sync('d-1'), { ...aSync('d-1'), hardware: 'x' })
    await setup.send(topics.sync('d-1'), aSync('d-2'))
    await setup.send('outpost/v1/d/d-1/up/unknown', aStatus('d-1'))
    await setup.send('elsewhere/topic', aStatus('d-1'))
    expect(setup.fleet.droppedMessageCounts()).toEqual({
      'not-json': 1, 'too-large': 1, schema: 1, 'device-mismatch': 1, 'unknown-topic': 2,
    })
    expect(await setup.devices.get('d-2')).toBeUndefined()
    expect(setup.published).toHaveLength(0)
  })

  it('stores a redelivered telemetry window once and shows the newest latency', async () => {
    await setup.devicesService.enroll('d-1')
    const window = aTelemetryWindow('d-1', { reportSeq: 4 })
    await setup.send(topics.telemetry('d-1'), window)
    await setup.send(topics.telemetry('d-1'), window)
    expect(db.prepare('SELECT count(*) FROM telemetry_windows').pluck().get()).toBe(1)
    expect(setup.fleet.droppedMessageCounts()).toEqual({ 'duplicate-telemetry': 1 })
    const latency = (await setup.devicesService.get('d-1')).latency!
    expect(latency.requestCount).toBe(100)
    expect(latency.p50Ms).toBeGreaterThan(1.6)
    expect(latency.p50Ms).toBeLessThanOrEqual(2.4)
    expect(latency.p99Ms).toBeGreaterThan(33)
  })

  it('applies install reports for the current directive and ignores superseded ones', async () => {
    await setup.devicesService.enroll('d-1')
    const model = await setup.modelService.importFile(tinyClassifierPath, { name: 'classifier', version: '2.0' })
    await setup.modelService.deploy(model.modelId, ['d-1'])
    await setup.modelService.deploy(model.modelId, ['d-1'])
    await setup.send(topics.report('d-1'), anInstallReport('d-1', { directiveSeq: 1, state: 'failed', errorCode: 'x' }))
    expect(setup.fleet.droppedMessageCounts()).toEqual({ 'stale-report': 1 })
    await setup.send(topics.report('d-1'), anInstallReport('d-1', { directiveSeq: 2, modelSha256: model.sha256, state: 'committed', executionProvider: 'cpu' }))
    const device = await setup.devicesService.get('d-1')
    expect(device.activeModel).toEqual({ modelId: model.modelId, name: 'classifier', version: '2.0', sha256: model.sha256 })
    expect(device.desiredModelId).toBe(model.modelId)
    expect(device.install).toMatchObject({ state: 'committed', progress: 1 })
    expect(device.executionProvider).toBe('cpu')
  })

  it('handles one device’s messages in arrival order', async () => {
    await setup.devicesService.enroll('d-1')
    const online = aStatus('d-1', { isOnline: true, at: '2025-01-01T00:00:01.000Z' })
    const offline = aStatus('d-1', { isOnline: false, at: '2025-01-01T00:00:02.000Z' })
    void setup.send(topics.status('d-1'), online)
    void setup.send(topics.status('d-1'), offline)
    await setup.fleet.idle()
    expect((await setup.devicesService.get('d-1')).isOnline).toBe(false)
  })
})

describe('ModelService', () => {
  it('stores nothing when the bytes are not a model', async () => {
    await expect(setup.modelService.importBytes(Buffer.from('garbage garbage garbage'), 'junk.onnx', {})).rejects.toMatchObject({
      code: 'model-invalid',
    })
    expect(await setup.modelService.list()).toEqual([])
    expect(readdirSync(dir)).not.toContain('models')
  })

  it('imports the same bytes once and numbers versions per name', async () => {
    const bytes = readFileSync(tinyClassifierPath)
    const first = await setup.modelService.importBytes(bytes, 'tiny-classifier.onnx', {})
    const again = await setup.modelService.importBytes(bytes, 'renamed.onnx', { name: 'other' })
    expect(again).toEqual(first)
    expect(first).toMatchObject({ name: 'tiny-classifier', version: '1', format: 'onnx', sizeBytes: bytes.length, sha256: sha256(bytes) })
    expect(first.modelId).toBe(`m-${sha256(bytes).slice(0, 12)}`)
    expect(readFileSync(join(dir, 'models', `${first.sha256}.onnx`)).equals(bytes)).toBe(true)
  })

  it('refuses to deploy to unknown devices before issuing any directive', async () => {
    await setup.devicesService.enroll('d-1')
    const model = await setup.modelService.importFile(tinyClassifierPath, {})
    await expect(setup.modelService.deploy(model.modelId, ['d-1', 'd-404'])).rejects.toMatchObject({ code: 'not-found' })
    await expect(setup.modelService.deploy('m-000000000000', ['d-1'])).rejects.toMatchObject({ code: 'not-found' })
    expect(setup.published).toHaveLength(0)
    expect((await setup.modelService.deploy(model.modelId, ['d-1', 'd-1'])).directives).toEqual([{ deviceId: 'd-1', seq: 1 }])
  })

  it('names a missing import file', async () => {
    await expect(setup.modelService.importFile(join(dir, 'nope.onnx'), {})).rejects.toMatchObject({ code: 'not-found' })
  })
})

describe('DevicesService', () => {
  it('issues a new password on every enrollment and revokes the previous one', async () => {
    const check = createDevicePasswordCheck(setup.devices, setup.credentials)
    const first = await setup.devicesService.enroll('d-1')
    expect(first).toMatchObject({ deviceId: 'd-1', username: 'd-1', brokerUrl: 'mqtt://127.0.0.1:1883' })
    expect(await check('d-1', first.password)).toBe(true)
    const second = await setup.devicesService.enroll('d-1')
    expect(second.password).not.toBe(first.password)
    expect(await check('d-1', first.password)).toBe(false)
    expect(await check('d-1', second.password)).toBe(true)
    expect(await check('d-404', second.password)).toBe(false)
  })

  it('refuses ids reserved for the control center and names unknown devices', async () => {
    await expect(setup.devicesService.enroll('control-center')).rejects.toMatchObject({ code: 'invalid-input' })
    await expect(setup.devicesService.get('d-404')).rejects.toMatchObject({ code: 'not-found' })
  })
})

import { describe, expect, it } from 'vitest'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { Command, type Directive, encodeMessage } from '../../src-shared/protocol/messages.ts'
import { topics } from '../../src-shared/protocol/topics.ts'
import { type DeviceRecord, newDeviceRecord } from '../core/fleet/deviceRecord.ts'
import type { DeviceRepository } from '../ports/DeviceRepository.ts'
import type { DirectiveRepository } from '../ports/DirectiveRepository.ts'
import type { MessageBus } from '../ports/MessageBus.ts'
import type { ModelRepository } from '../ports/ModelRepository.ts'
import type { ModelStore } from '../ports/ModelStore.ts'
import type { TelemetryRepository } from '../ports/TelemetryRepository.ts'
import { createFleetService } from './fleetService.ts'
import { anInstallReport } from './testing/deviceMessages.ts'

const SHA = 'a'.repeat(64)
const directive: Directive = {
  v: 1,
  deviceId: 'd-1',
  seq: 3,
  issuedAt: '2025-01-01T00:00:00.000Z',
  action: 'install',
  artifact: { modelId: 'm-0123456789ab', name: 'n', version: '1', format: 'onnx', sha256: SHA, sizeBytes: 10, chunkSizeBytes: 10, chunkCount: 1, chunkListSha256: 'c'.repeat(64) },
}

/** The fleet service over in-memory ports: one device with one install directive. */
function setup() {
  const published: Array<{ topic: string; payload: Uint8Array }> = []
  const records = new Map<string, DeviceRecord>([['d-1', newDeviceRecord('d-1')]])
  const update: DeviceRepository['update'] = async (deviceId, change) => {
    const next = change(records.get(deviceId))
    if (next !== undefined) records.set(deviceId, next)
    return next
  }
  const devices: DeviceRepository = {
    list: async () => [...records.values()],
    get: async (deviceId) => records.get(deviceId),
    update,
    updateSoon: update,
    flush: async () => {},
    markAllOffline: async () => {},
  }
  const directives: DirectiveRepository = {
    issueNext: async () => directive,
    latest: async (deviceId) => (deviceId === 'd-1' ? directive : undefined),
    hasIssuedArtifact: async () => true,
  }
  const unused = () => Promise.reject(new AppError('internal', 'not used by report handling'))
  const models: ModelRepository = { insert: unused, list: unused, get: unused, getBySha256: async () => undefined, countByName: unused }
  const telemetry: TelemetryRepository = { insert: unused, pruneReceivedBefore: unused }
  const store: ModelStore = { write: unused, readRange: unused, readImportFile: unused }
  const bus: MessageBus = {
    publish: async (topic, payload) => void published.push({ topic, payload: Uint8Array.from(payload) }),
    subscribe: async () => {},
    onMessage: () => () => {},
    close: async () => {},
  }
  const notifier = { deviceChanged: () => {}, modelChanged: () => {} }
  const fleet = createFleetService({ devices, models, directives, telemetry, store, bus, clock: { nowMs: () => Date.UTC(2025, 0, 1) }, notifier, log: silentLogger })
  const send = (report: Parameters<typeof anInstallReport>[1]) => fleet.handleMessage(topics.report('d-1'), encodeMessage(anInstallReport('d-1', report)))
  const acks = () =>
    published.filter((message) => message.topic === topics.command('d-1')).map((message) => Command.parse(JSON.parse(Buffer.from(message.payload).toString('utf8'))))
  return { fleet, send, acks, records }
}

describe('FleetService trial acknowledgement', () => {
  it('acknowledges a passed trial (progress 1) of the current directive on the device command topic', async () => {
    const { send, acks, records } = setup()
    await send({ directiveSeq: 3, modelSha256: SHA, state: 'trial', progress: 0.5 })
    expect(acks()).toEqual([])
    await send({ directiveSeq: 3, modelSha256: SHA, state: 'trial', progress: 1 })
    expect(acks()).toEqual([{ v: 1, type: 'trial-ack', directiveSeq: 3, modelSha256: SHA }])
    expect(records.get('d-1')?.install.state).toBe('trial')
  })

  it('does not acknowledge a trial of another artifact or of a superseded directive', async () => {
    const { fleet, send, acks } = setup()
    await send({ directiveSeq: 3, modelSha256: 'e'.repeat(64), state: 'trial', progress: 1 })
    await send({ directiveSeq: 2, modelSha256: SHA, state: 'trial', progress: 1 })
    await send({ directiveSeq: 3, modelSha256: SHA, state: 'committed', progress: 1 })
    expect(acks()).toEqual([])
    expect(fleet.droppedMessageCounts()).toMatchObject({ 'device-mismatch': 1, 'stale-report': 1 })
  })
})

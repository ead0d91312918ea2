/**
 * A scripted fleet for rollout tests and the rollout benchmark: devices stored through the real DeviceRepository,
 * a DirectiveSender that keeps every directive it issued (standing in for the durable directives table the deploy
 * path writes), and a step function that lets each device act on its newest directive the way an agent reports it
 * (accepted seq, install state, active model, p95 latency).
 */
import { AppError } from '../../../src-shared/errors.ts'
import { applyEnrollment, newDeviceRecord, type DeviceRecord } from '../../core/fleet/deviceRecord.ts'
import type { DirectiveRequest } from '../../core/rollout/rolloutMachine.ts'
import type { Clock } from '../../ports/Clock.ts'
import type { DeviceRepository } from '../../ports/DeviceRepository.ts'
import type { DirectiveSender, IssuedDirective } from '../../ports/DirectiveSender.ts'
import type { ModelRecord } from '../../ports/ModelRepository.ts'

export interface IssuedRecord extends IssuedDirective {
  deviceId: string
  request: DirectiveRequest
}

/** What a send does when a test wants a crash at a precise moment. */
export type SendFault = 'throw-before-issue' | 'hang-after-issue' | 'refuse-unknown-model'

export function createRecordingDirectiveSender() {
  const byDevice = new Map<string, IssuedRecord[]>()
  const all: IssuedRecord[] = []
  let fault: ((request: DirectiveRequest, index: number) => SendFault | undefined) | undefined
  let sendCount = 0
  const sender: DirectiveSender = {
    async send(request) {
      const index = sendCount++
      const injected = fault?.(request, index)
      if (injected === 'throw-before-issue') throw new Error('simulated crash before the directive was issued')
      if (injected === 'refuse-unknown-model') throw new AppError('not-found', `No model ${request.artifact.modelId}; import it first`)
      const list = byDevice.get(request.deviceId) ?? []
      const record: IssuedRecord = {
        deviceId: request.deviceId,
        seq: (list.at(-1)?.seq ?? 0) + 1,
        action: request.action,
        artifactSha256: request.artifact.sha256,
        request,
      }
      list.push(record)
      byDevice.set(request.deviceId, list)
      all.push(record)
      // The process dies after the directive is durable but before the rollout records the receipt.
      if (injected === 'hang-after-issue') return new Promise<IssuedDirective>(() => {})
      return { seq: record.seq, action: record.action, artifactSha256: record.artifactSha256 }
    },
    async latest(deviceIds) {
      const result = new Map<string, IssuedDirective>()
      for (const deviceId of deviceIds) {
        const newest = byDevice.get(deviceId)?.at(-1)
        if (newest) result.set(deviceId, { seq: newest.seq, action: newest.action, artifactSha256: newest.artifactSha256 })
      }
      return result
    },
  }
  return {
    sender,
    all,
    of: (deviceId: string) => byDevice.get(deviceId) ?? [],
    injectFault(next: typeof fault) {
      fault = next
    },
  }
}

export type RecordingDirectiveSender = ReturnType<typeof createRecordingDirectiveSender>

export type DeviceBehaviour = 'commit' | 'health-fail' | 'install-fail' | 'offline'

export interface FleetScript {
  behaviourOf?: (deviceId: string) => DeviceBehaviour
  /** p95 the device reports on the release the rollout installs. */
  newP95Ms?: number
  baselineP95Ms?: number
}

export function aModelRecord(modelId: string, sha256: string, name = 'classifier'): ModelRecord {
  return {
    modelId,
    name,
    version: modelId.slice(-4),
    format: 'onnx',
    sha256,
    sizeBytes: 2048,
    importedAt: '2025-01-01T00:00:00.000Z',
    inputs: [],
    outputs: [],
    sourceFileName: `${name}.onnx`,
    chunkSizeBytes: 1024,
    chunkCount: 2,
    chunkListJson: '{}',
    chunkListSha256: 'f'.repeat(64),
  }
}

/** Devices that synced once: CPU x64, running `active`, reporting `baselineP95Ms`. */
export async function seedDevices(devices: DeviceRepository, deviceIds: readonly string[], active: ModelRecord, atIso: string, baselineP95Ms = 10): Promise<void> {
  for (const deviceId of deviceIds) {
    await devices.update(deviceId, (record) => ({
      ...applyEnrollment(record, deviceId, 'scrypt$test', atIso),
      isOnline: true,
      firstSeenAt: atIso,
      lastSeenAt: atIso,
      agentVersion: '0.1.0',
      hardware: { arch: 'x64', platform: 'linux', osRelease: '6.8', hostname: deviceId, cpuModel: 'test', cpuCount: 4, memoryBytes: 8 * 1024 ** 3, accelerators: [] },
      executionProviders: [{ name: 'cpu', isAvailable: true }],
      executionProvider: 'cpu',
      activeModel: { modelId: active.modelId, name: active.name, version: active.version, sha256: active.sha256 },
      install: { state: 'committed', progress: 1, errorCode: null, message: null },
      latency: { p50Ms: baselineP95Ms / 2, p95Ms: baselineP95Ms, p99Ms: baselineP95Ms, requestCount: 100, errorCount: 0, windowEndAt: atIso },
    }))
  }
}

/**
 * Each device acts on its newest directive: it accepts it and ends committed (a rollback returns to the previous
 * model), rolled back by its health check, failed, or never answers. Every online device also reports a fresh
 * telemetry window: `newP95Ms` while it runs the release rollouts install (any model but `baselineModelId`),
 * `baselineP95Ms` otherwise. Returns how many devices acted on a directive.
 */
export async function stepFleet(
  devices: DeviceRepository,
  issued: RecordingDirectiveSender,
  models: ReadonlyMap<string, ModelRecord>,
  clock: Clock,
  script: FleetScript & { baselineModelId?: string } = {},
): Promise<number> {
  let acted = 0
  const atIso = new Date(clock.nowMs()).toISOString()
  const windowEndAt = new Date(clock.nowMs() + 1000).toISOString()
  const baselineP95Ms = script.baselineP95Ms ?? 10
  const latencyOn = (modelId: string | undefined) => {
    const p95Ms = modelId === undefined || modelId === script.baselineModelId ? baselineP95Ms : (script.newP95Ms ?? baselineP95Ms)
    return { p50Ms: p95Ms / 2, p95Ms, p99Ms: p95Ms, requestCount: 100, errorCount: 0, windowEndAt }
  }
  for (const record of await devices.list()) {
    const behaviour = script.behaviourOf?.(record.deviceId) ?? 'commit'
    if (behaviour === 'offline') continue
    const newest = issued.of(record.deviceId).at(-1)
    const isNew = newest !== undefined && record.reportedDirectiveSeq < newest.seq
    if (isNew) acted += 1
    await devices.update(record.deviceId, (stored) => {
      const current: DeviceRecord = stored ?? newDeviceRecord(record.deviceId)
      if (!isNew) return { ...current, latency: latencyOn(current.activeModel?.modelId) }
      const accepted = { ...current, reportedDirectiveSeq: newest.seq, lastSeenAt: atIso, latency: latencyOn(current.activeModel?.modelId) }
      const isRollback = newest.action === 'rollback'
      if (!isRollback && behaviour === 'health-fail') {
        return { ...accepted, install: { state: 'rolled-back', progress: 0, errorCode: 'health-check-failed', message: 'golden outputs differ' } }
      }
      if (!isRollback && behaviour === 'install-fail') {
        return { ...accepted, install: { state: 'failed', progress: 0, errorCode: 'hash-mismatch', message: 'chunk 3 does not match' } }
      }
      const model = models.get(newest.request.artifact.modelId)
      const activeModel = model ? { modelId: model.modelId, name: model.name, version: model.version, sha256: model.sha256 } : current.activeModel
      return { ...accepted, install: { state: 'committed', progress: 1, errorCode: null, message: null }, activeModel, latency: latencyOn(activeModel?.modelId) }
    })
  }
  return acted
}

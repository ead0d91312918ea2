/** A small in-process backend for host tests: real contract, real event hub, handlers over an in-memory fleet. */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { outpostEvents, type OutpostMethods, type SystemInfo } from '../../src-shared/contract/index.ts'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import type { ModelSummary } from '../../src-shared/domain/model.ts'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { createEventHub } from '../../src-shared/rpc/serveContract.ts'
import type { Handlers } from '../../src-shared/rpc/types.ts'

export function aDeviceSummary(deviceId: string, overrides: Partial<DeviceSummary> = {}): DeviceSummary {
  return {
    deviceId,
    isOnline: false,
    firstSeenAt: null,
    lastSeenAt: null,
    agentVersion: null,
    hardware: null,
    executionProviders: [],
    executionProvider: null,
    activeModel: null,
    desiredModelId: null,
    install: { state: 'idle', progress: 0, errorCode: null, message: null },
    latency: null,
    ...overrides,
  }
}

/** Model packaging needs real models and onnxruntime; host tests do not exercise it. */
const notInTestBackend = async (): Promise<never> => {
  throw new AppError('unavailable', 'Model packaging is not part of the test backend')
}
/** Rollouts have their own tests over the real service (services/rolloutService.test.ts, cli/rolloutCommands.test.ts). */
const rolloutsNotInTestBackend = async (): Promise<never> => {
  throw new AppError('unavailable', 'Rollouts are not part of the test backend')
}

/** Telemetry and drift have their own tests over the real store (adapters/sqlite/drift*.test.ts). */
const telemetryNotInTestBackend = async (): Promise<never> => {
  throw new AppError('unavailable', 'Telemetry and drift are not part of the test backend')
}

export function createTestBackend() {
  const devices = new Map<string, DeviceSummary>()
  const events = createEventHub(outpostEvents, silentLogger)
  const info: SystemInfo = {
    productVersion: '0.0.0-test',
    host: 'headless',
    dataDir: '/nonexistent/outpost-test',
    databaseFile: '/nonexistent/outpost-test/outpost.db',
    brokerUrl: 'mqtt://127.0.0.1:1',
    brokerKind: 'embedded',
    startedAt: '2025-01-01T00:00:00.000Z',
  }
  const models: ModelSummary[] = []
  /** Every models.importFile input, so a test can check what a client sent. */
  const importedPaths: string[] = []
  const handlers: Handlers<OutpostMethods> = {
    'system.info': async () => info,
    'devices.list': async () => [...devices.values()],
    'devices.get': async ({ deviceId }) => {
      const device = devices.get(deviceId)
      if (!device) throw new AppError('not-found', `Device ${deviceId} is not registered`, { deviceId })
      return device
    },
    'devices.enroll': async ({ deviceId }) => {
      const device = aDeviceSummary(deviceId)
      devices.set(deviceId, device)
      events.emit('device.changed', device)
      return { deviceId, username: deviceId, password: `secret-${deviceId}`, brokerUrl: info.brokerUrl }
    },
    'models.list': async () => [...models],
    'models.upload': async () => {
      throw new AppError('unavailable', 'Uploads are not part of the test backend')
    },
    'models.importFile': async ({ path, name, version }) => {
      importedPaths.push(path)
      const model: ModelSummary = {
        modelId: `m-${String(models.length + 1).padStart(12, '0')}`,
        name: name ?? 'model',
        version: version ?? '0.0.1',
        format: 'onnx',
        sha256: existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'a'.repeat(64),
        sizeBytes: 1234,
        importedAt: '2025-01-01T00:00:00.000Z',
        inputs: [],
        outputs: [],
        sourceFileName: path.split('/').pop() ?? path,
      }
      models.push(model)
      return model
    },
    'models.deploy': async ({ modelId, deviceIds }) => {
      if (!models.some((model) => model.modelId === modelId)) throw new AppError('not-found', `Model ${modelId} is not imported`)
      return { directives: deviceIds.map((deviceId, index) => ({ deviceId, seq: index + 1 })) }
    },
    'models.inspect': notInTestBackend,
    'models.optimize': notInTestBackend,
    'models.evaluate': notInTestBackend,
    'models.card': notInTestBackend,
    'releases.list': async () => [],
    'releases.trustStatus': async () => ({
      isConfigured: false,
      rootVersion: null,
      rootExpiresAt: null,
      releaseThreshold: null,
      releaseKeyCount: null,
      directorKeyid: null,
    }),
    'releases.import': notInTestBackend,
    'releases.upload': notInTestBackend,
    'rollouts.list': async () => [],
    'rollouts.create': rolloutsNotInTestBackend,
    'rollouts.start': rolloutsNotInTestBackend,
    'rollouts.pause': rolloutsNotInTestBackend,
    'rollouts.resume': rolloutsNotInTestBackend,
    'rollouts.approve': rolloutsNotInTestBackend,
    'rollouts.abort': rolloutsNotInTestBackend,
    'rollouts.rollback': rolloutsNotInTestBackend,
    'rollouts.retry': rolloutsNotInTestBackend,
    'rollouts.status': rolloutsNotInTestBackend,
    'rollouts.dryRun': rolloutsNotInTestBackend,
    'rollouts.report': rolloutsNotInTestBackend,
    'rollouts.audit': rolloutsNotInTestBackend,
    'telemetry.overview': telemetryNotInTestBackend,
    'telemetry.latency': telemetryNotInTestBackend,
    'telemetry.predictions': telemetryNotInTestBackend,
    'telemetry.window': telemetryNotInTestBackend,
    'telemetry.alerts': telemetryNotInTestBackend,
    'drift.references': telemetryNotInTestBackend,
    'drift.registerReference': telemetryNotInTestBackend,
    'drift.settings': telemetryNotInTestBackend,
    'drift.updateSettings': telemetryNotInTestBackend,
    'drift.heatmap': telemetryNotInTestBackend,
    'drift.overlay': telemetryNotInTestBackend,
    'drift.device': telemetryNotInTestBackend,
    'devices.tag': telemetryNotInTestBackend,
  }
  return { handlers, events, info, importedPaths, close: async () => {} }
}

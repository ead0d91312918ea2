import { outpostEvents, outpostMethods, type OutpostMethods, type packagingMethods, type rolloutsMethods, type telemetryMethods } from '../../src-shared/contract/index.ts'
import type { ReleaseSummary, TrustStatus } from '../../src-shared/contract/releasesContract.ts'
import type { SystemInfo } from '../../src-shared/contract/systemContract.ts'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import type { ModelSummary } from '../../src-shared/domain/model.ts'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { memoryTransportPair } from '../../src-shared/rpc/memoryTransport.ts'
import { createEventHub, serveContract } from '../../src-shared/rpc/serveContract.ts'
import type { CallContext, Handlers } from '../../src-shared/rpc/types.ts'
import { aLatencySeries, anOverview } from '../features/telemetry/telemetryBuilders.ts'
import { aRelease, aSystemInfo, aTrustStatus } from './builders.ts'

export interface TestServerOptions {
  devices?: DeviceSummary[]
  models?: ModelSummary[]
  info?: SystemInfo
  releases?: ReleaseSummary[]
  trust?: TrustStatus
  /** Handlers for the packaging methods a test exercises; the others answer 'unavailable'. */
  packaging?: Partial<Handlers<typeof packagingMethods>>
  /** Handlers for the telemetry and drift methods a test exercises; by default an empty fleet without references. */
  telemetry?: Partial<Handlers<typeof telemetryMethods>>
  /** Handlers for the rollout methods a test exercises; by default no rollouts, and the rest answer 'unavailable'. */
  rollouts?: Partial<Handlers<typeof rolloutsMethods>>
}

const rolloutsUnavailable = async (): Promise<never> => {
  throw new AppError('unavailable', 'Rollouts are not set up in this test')
}

const telemetryUnavailable = async (): Promise<never> => {
  throw new AppError('unavailable', 'Telemetry is not set up in this test')
}

const packagingUnavailable = async (): Promise<never> => {
  throw new AppError('unavailable', 'Model packaging is not set up in this test')
}

/** Deterministic 64-hex digest of bytes (FNV-1a lanes); the renderer only ever displays it. */
function digestHex(bytes: Uint8Array): string {
  let hex = ''
  for (let lane = 0; lane < 8; lane++) {
    let hash = (0x811c9dc5 ^ lane) >>> 0
    for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
    hex += hash.toString(16).padStart(8, '0')
  }
  return hex
}

/**
 * The whole contract served over memoryTransportPair() from in-memory state, with the same validation and
 * error envelope as the real hosts (serveContract). Tests drive pushes through `hub` or `changeDevice`.
 */
export function createTestServer(options: TestServerOptions = {}) {
  const [clientTransport, serverTransport] = memoryTransportPair()
  const devices = new Map((options.devices ?? []).map((device) => [device.deviceId, device]))
  const models = new Map((options.models ?? []).map((model) => [model.modelId, model]))
  const uploads: { fileName: string; bytes: Uint8Array }[] = []
  const releases = new Map((options.releases ?? []).map((release) => [release.releaseId, release]))
  /** Every releases.import path and releases.upload file list, so a test can check what the page sent. */
  const releaseImports: Array<{ path: string } | { files: Array<{ path: string; bytes: Uint8Array }> }> = []
  const calls: string[] = []
  const failures = new Map<string, AppError>()
  const seqByDevice = new Map<string, number>()
  const hub = createEventHub(outpostEvents, silentLogger)
  hub.attach(serverTransport)

  const handlers: Handlers<OutpostMethods> = {
    'system.info': async () => options.info ?? aSystemInfo(),
    'devices.list': async () => [...devices.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId)),
    'devices.get': async ({ deviceId }) => {
      const device = devices.get(deviceId)
      if (!device) throw new AppError('not-found', `Device ${deviceId} is not registered`, { deviceId })
      return device
    },
    'devices.enroll': async ({ deviceId }) => ({
      deviceId,
      username: deviceId,
      password: 'enrolled-password',
      brokerUrl: 'mqtt://127.0.0.1:1883',
    }),
    'models.list': async () => [...models.values()],
    'models.upload': async ({ fileName, contentBase64, name, version }) => {
      const bytes = Uint8Array.from(atob(contentBase64), (character) => character.charCodeAt(0))
      uploads.push({ fileName, bytes })
      // Real ONNX files start with a protobuf field tag; this server accepts anything starting with 0x08.
      if (bytes[0] !== 0x08) throw new AppError('model-invalid', `${fileName} is not an ONNX model`)
      const sha256 = digestHex(bytes)
      const model: ModelSummary = {
        modelId: `m-${sha256.slice(0, 12)}`,
        name: name ?? fileName.replace(/\.onnx$/, ''),
        version: version ?? '1',
        format: 'onnx',
        sha256,
        sizeBytes: bytes.length,
        importedAt: '2025-01-02T00:00:00.000Z',
        inputs: [{ name: 'features', elementType: 'float32', shape: ['N', 16] }],
        outputs: [{ name: 'probabilities', elementType: 'float32', shape: ['N', 4] }],
        sourceFileName: fileName,
      }
      models.set(model.modelId, model)
      hub.emit('model.changed', model)
      return model
    },
    'models.importFile': async ({ path }) => {
      throw new AppError('not-found', `No file at ${path}`)
    },
    'models.deploy': async ({ modelId, deviceIds }) => {
      if (!models.has(modelId)) throw new AppError('not-found', `Model ${modelId} is not imported`, { modelId })
      const unknown = deviceIds.filter((deviceId) => !devices.has(deviceId))
      if (unknown.length > 0) throw new AppError('not-found', `Unknown devices: ${unknown.join(', ')}`, { deviceIds: unknown })
      const directives = deviceIds.map((deviceId) => {
        const seq = (seqByDevice.get(deviceId) ?? 0) + 1
        seqByDevice.set(deviceId, seq)
        return { deviceId, seq }
      })
      for (const deviceId of deviceIds) {
        const device = devices.get(deviceId)
        if (device) changeDevice({ ...device, desiredModelId: modelId, install: { ...device.install, state: 'accepted' } })
      }
      return { directives }
    },
    'releases.list': async () => [...releases.values()],
    'releases.trustStatus': async () => options.trust ?? aTrustStatus(),
    'releases.import': async ({ path }) => {
      releaseImports.push({ path })
      if (!path.startsWith('/bundles/')) throw new AppError('not-found', `No release bundle at ${path}`)
      const release = aRelease({ releaseId: digestHex(new TextEncoder().encode(path)), version: path.split('/').pop() ?? '1.0.0' })
      releases.set(release.releaseId, release)
      hub.emit('release.changed', release)
      return release
    },
    'releases.upload': async ({ files }) => {
      const decoded = files.map(({ path, contentBase64 }) => ({ path, bytes: Uint8Array.from(atob(contentBase64), (character) => character.charCodeAt(0)) }))
      releaseImports.push({ files: decoded })
      if (!decoded.some((file) => file.path === 'release.json')) throw new AppError('bundle-invalid', 'The bundle has no release.json', { trustCode: 'missing-file' })
      const release = aRelease({ releaseId: digestHex(decoded.find((file) => file.path === 'release.json')?.bytes ?? new Uint8Array()) })
      releases.set(release.releaseId, release)
      hub.emit('release.changed', release)
      return release
    },
    'models.inspect': options.packaging?.['models.inspect'] ?? packagingUnavailable,
    'models.optimize': options.packaging?.['models.optimize'] ?? packagingUnavailable,
    'models.evaluate': options.packaging?.['models.evaluate'] ?? packagingUnavailable,
    'models.card': options.packaging?.['models.card'] ?? packagingUnavailable,
    'telemetry.overview': options.telemetry?.['telemetry.overview'] ?? (async () => anOverview({ deviceCount: devices.size })),
    'telemetry.latency': options.telemetry?.['telemetry.latency'] ?? (async () => aLatencySeries({ releases: [], points: [] })),
    'telemetry.predictions': options.telemetry?.['telemetry.predictions'] ?? telemetryUnavailable,
    'telemetry.window': options.telemetry?.['telemetry.window'] ?? telemetryUnavailable,
    'telemetry.alerts': options.telemetry?.['telemetry.alerts'] ?? (async () => []),
    'drift.references': options.telemetry?.['drift.references'] ?? (async () => []),
    'drift.registerReference': options.telemetry?.['drift.registerReference'] ?? telemetryUnavailable,
    'drift.settings': options.telemetry?.['drift.settings'] ?? telemetryUnavailable,
    'drift.updateSettings': options.telemetry?.['drift.updateSettings'] ?? telemetryUnavailable,
    'drift.heatmap': options.telemetry?.['drift.heatmap'] ?? telemetryUnavailable,
    'drift.overlay': options.telemetry?.['drift.overlay'] ?? telemetryUnavailable,
    'drift.device': options.telemetry?.['drift.device'] ?? telemetryUnavailable,
    'devices.tag': options.telemetry?.['devices.tag'] ?? telemetryUnavailable,
    'rollouts.list': options.rollouts?.['rollouts.list'] ?? (async () => []),
    'rollouts.create': options.rollouts?.['rollouts.create'] ?? rolloutsUnavailable,
    'rollouts.start': options.rollouts?.['rollouts.start'] ?? rolloutsUnavailable,
    'rollouts.pause': options.rollouts?.['rollouts.pause'] ?? rolloutsUnavailable,
    'rollouts.resume': options.rollouts?.['rollouts.resume'] ?? rolloutsUnavailable,
    'rollouts.approve': options.rollouts?.['rollouts.approve'] ?? rolloutsUnavailable,
    'rollouts.abort': options.rollouts?.['rollouts.abort'] ?? rolloutsUnavailable,
    'rollouts.rollback': options.rollouts?.['rollouts.rollback'] ?? rolloutsUnavailable,
    'rollouts.retry': options.rollouts?.['rollouts.retry'] ?? rolloutsUnavailable,
    'rollouts.status': options.rollouts?.['rollouts.status'] ?? rolloutsUnavailable,
    'rollouts.dryRun': options.rollouts?.['rollouts.dryRun'] ?? rolloutsUnavailable,
    'rollouts.report': options.rollouts?.['rollouts.report'] ?? rolloutsUnavailable,
    'rollouts.audit': options.rollouts?.['rollouts.audit'] ?? rolloutsUnavailable,
  }

  // Every handler first records the call and honours a failure queued with failNext().
  const instrumented = Object.fromEntries(
    Object.entries(handlers).map(([method, handler]) => [
      method,
      async (input: unknown, context: CallContext) => {
        calls.push(method)
        const failure = failures.get(method)
        if (failure) {
          failures.delete(method)
          throw failure
        }
        return (handler as (input: unknown, context: CallContext) => Promise<unknown>)(input, context)
      },
    ]),
  ) as Handlers<OutpostMethods>

  const stop = serveContract(outpostMethods, instrumented, serverTransport, silentLogger, { connectionId: 'test' })

  function changeDevice(device: DeviceSummary): void {
    devices.set(device.deviceId, device)
    hub.emit('device.changed', device)
  }

  return {
    /** The client's side of the pair. */
    transport: clientTransport,
    hub,
    devices,
    models,
    uploads,
    releases,
    releaseImports,
    calls,
    changeDevice,
    /** The next call of `method` fails with `error`. */
    failNext(method: keyof OutpostMethods, error: AppError): void {
      failures.set(method, error)
    },
    close: stop,
  }
}

export type TestServer = ReturnType<typeof createTestServer>

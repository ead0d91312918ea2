import { outpostEvents, outpostMethods, type OutpostMethods } from '../../src-shared/contract/index.ts'
import type { SystemInfo } from '../../src-shared/contract/systemContract.ts'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import type { ModelSummary } from '../../src-shared/domain/model.ts'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { memoryTransportPair } from '../../src-shared/rpc/memoryTransport.ts'
import { createEventHub, serveContract } from '../../src-shared/rpc/serveContract.ts'
import type { CallContext, Handlers } from '../../src-shared/rpc/types.ts'
import { aSystemInfo } from './builders.ts'

export interface TestServerOptions {
  devices?: DeviceSummary[]
  models?: ModelSummary[]
  info?: SystemInfo
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

/**
 * A real control center for benchmarks: createBackend with its embedded broker on 127.0.0.1:0 in a temp data dir,
 * plus the few calls a benchmark needs (enroll, import, deploy) and waits on the device table with deadlines.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createBackend, type Backend } from '../../src-main/backend/createBackend.ts'
import type { DeviceCredentials } from '../../src-shared/contract/index.ts'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import type { ModelSummary } from '../../src-shared/domain/model.ts'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import type { RpcMessage } from '../../src-shared/rpc/envelope.ts'
import type { CallContext } from '../../src-shared/rpc/types.ts'

const context: CallContext = { connectionId: 'bench' }
const POLL_INTERVAL_MS = 25
/** Install states from which a device will not reach 'committed' for the directive it was given. */
const FAILED_STATES: ReadonlySet<string> = new Set(['failed', 'rolled-back', 'rolling-back'])

export interface BenchControlCenter {
  backend: Backend
  dataDir: string
  /** mqtt://127.0.0.1:PORT of the embedded broker. */
  brokerUrl: string
  /** The control-center login of the embedded broker (`<dataDir>/broker-secret`). */
  brokerSecret: string
  enroll(deviceIds: readonly string[]): Promise<DeviceCredentials[]>
  importModel(path: string, name: string): Promise<ModelSummary>
  deploy(modelId: string, deviceIds: readonly string[]): Promise<void>
  waitForOnline(deviceIds: readonly string[], timeoutMs: number): Promise<void>
  /** Resolves when every device reports `committed` on `sha256`, from pushed device.changed events. */
  waitForCommitted(deviceIds: readonly string[], sha256: string, timeoutMs: number): Promise<void>
  close(): Promise<void>
}

export async function startControlCenter(dataDir: string): Promise<BenchControlCenter> {
  const backend = await createBackend({ dataDir, host: 'headless', broker: { kind: 'embedded', host: '127.0.0.1', port: 0 } }, silentLogger)
  const brokerSecret = readFileSync(join(dataDir, 'broker-secret'), 'utf8').trim()
  const list = () => backend.handlers['devices.list']({}, context)

  return {
    backend,
    dataDir,
    brokerUrl: backend.info.brokerUrl,
    brokerSecret,
    async enroll(deviceIds) {
      const credentials: DeviceCredentials[] = []
      for (const deviceId of deviceIds) credentials.push(await backend.handlers['devices.enroll']({ deviceId }, context))
      return credentials
    },
    importModel: (path, name) => backend.handlers['models.importFile']({ path, name, version: '1' }, context),
    async deploy(modelId, deviceIds) {
      await backend.handlers['models.deploy']({ modelId, deviceIds: [...deviceIds] }, context)
    },
    async waitForOnline(deviceIds, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const online = new Set((await list()).filter((device) => device.isOnline && device.agentVersion !== null).map((device) => device.deviceId))
        if (deviceIds.every((deviceId) => online.has(deviceId))) return
        if (Date.now() > deadline) {
          throw new AppError('timeout', `Only ${online.size} of ${deviceIds.length} agents came online within ${timeoutMs} ms`)
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS))
      }
    },
    waitForCommitted(deviceIds, sha256, timeoutMs) {
      const pending = new Set(deviceIds)
      return new Promise<void>((resolve, reject) => {
        const settle = (error?: Error) => {
          clearTimeout(timer)
          detach()
          if (error) reject(error)
          else resolve()
        }
        const observe = (device: DeviceSummary) => {
          if (!pending.has(device.deviceId)) return
          if (device.install.state === 'committed' && device.activeModel?.sha256 === sha256) pending.delete(device.deviceId)
          else if (FAILED_STATES.has(device.install.state) && device.activeModel?.sha256 !== sha256) {
            settle(new AppError('transfer-failed', `${device.deviceId} did not install the model: ${device.install.state} ${device.install.message ?? ''}`))
          }
          if (pending.size === 0) settle()
        }
        const timer = setTimeout(
          () => settle(new AppError('timeout', `${pending.size} of ${deviceIds.length} agents had not committed after ${timeoutMs} ms`)),
          timeoutMs,
        )
        // The event hub pushes to transports; this one only listens.
        const detach = backend.events.attach({
          send(message: RpcMessage) {
            if (message.kind === 'event' && message.topic === 'device.changed') observe(message.payload as DeviceSummary)
          },
          onMessage: () => () => {},
        })
        // A device that committed before we attached sends no further event.
        list().then((devices) => devices.forEach(observe), (error: unknown) => settle(error instanceof Error ? error : new Error(String(error))))
      })
    },
    close: () => backend.close(),
  }
}

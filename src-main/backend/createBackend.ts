/**
 * Builds the whole control center backend from config: data directory, database, embedded broker (or an external
 * one), the control center's MQTT connection, services and the RPC handler table. Knows nothing about Electron:
 * the desktop app and headless mode both call it (anchors-aesthetics.md §5 example 6).
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { outpostEvents, type OutpostEvents, type OutpostMethods, type SystemInfo } from '../../src-shared/contract/index.ts'
import { AppError } from '../../src-shared/errors.ts'
import { topics } from '../../src-shared/protocol/topics.ts'
import { createEventHub, type EventHub } from '../../src-shared/rpc/serveContract.ts'
import type { Handlers, Logger } from '../../src-shared/rpc/types.ts'
import { systemClock } from '../adapters/clock/systemClock.ts'
import { nodeContentHasher } from '../adapters/crypto/nodeContentHasher.ts'
import { createScryptCredentialHasher } from '../adapters/crypto/scryptCredentialHasher.ts'
import { ensureDataDir, readOrCreateBrokerSecret } from '../adapters/fs/dataDir.ts'
import { createFsModelStore } from '../adapters/fs/fsModelStore.ts'
import { readProductVersion } from '../adapters/fs/readProductVersion.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from '../adapters/mqtt/embeddedBroker.ts'
import { connectMqttMessageBus } from '../adapters/mqtt/mqttMessageBus.ts'
import { createOnnxModelInspector } from '../adapters/onnx/onnxModelInspector.ts'
import { DATABASE_FILE_NAME, openDatabase } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteDeviceRepository } from '../adapters/sqlite/sqliteDeviceRepository.ts'
import { createSqliteDirectiveRepository } from '../adapters/sqlite/sqliteDirectiveRepository.ts'
import { createSqliteModelRepository } from '../adapters/sqlite/sqliteModelRepository.ts'
import { createSqliteTelemetryRepository } from '../adapters/sqlite/sqliteTelemetryRepository.ts'
import { brokerUrlFor, checkBrokerUrl } from '../core/config/brokerUrl.ts'
import { CONTROL_CENTER_USERNAME } from '../core/fleet/brokerIdentity.ts'
import type { Notifier } from '../ports/Notifier.ts'
import { createDevicePasswordCheck, createDevicesService } from '../services/devicesService.ts'
import { createFleetService } from '../services/fleetService.ts'
import { createModelService } from '../services/modelService.ts'
import { createHandlers } from './handlers.ts'

export { resolveDefaultDataDir } from '../core/config/resolveDefaultDataDir.ts'
export { listDevicesFromDataDir, openDatabaseReadOnly } from './listDevicesFromDataDir.ts'

export interface BackendConfig {
  dataDir: string
  host: 'electron' | 'headless'
  broker: { kind: 'embedded'; host: string; port: number } | { kind: 'external'; url: string; username?: string; password?: string }
}

export interface Backend {
  handlers: Handlers<OutpostMethods>
  events: EventHub<OutpostEvents>
  info: SystemInfo
  /** Stops the MQTT connection, then the embedded broker, then the database. Idempotent. */
  close(): Promise<void>
}

/** The embedded broker runs in this process, so its first connection is immediate; an external one may be slower. */
const EMBEDDED_CONNECT_TIMEOUT_MS = 5_000
const EXTERNAL_CONNECT_TIMEOUT_MS = 10_000
const TELEMETRY_RETENTION_MS = 14 * 24 * 60 * 60 * 1000
const TELEMETRY_PRUNE_INTERVAL_MS = 60 * 60 * 1000

/**
 * Throws AppError 'data-dir-unwritable', 'database-corrupt', 'port-in-use', 'broker-url-invalid',
 * 'broker-unreachable' or 'unauthorized' (an external broker refused the credentials). Whatever it started before
 * failing is stopped again.
 */
export async function createBackend(config: BackendConfig, log: Logger): Promise<Backend> {
  const clock = systemClock
  const startedAt = new Date(clock.nowMs()).toISOString()
  const external = config.broker.kind === 'external' ? checkBrokerUrl(config.broker.url) : undefined
  if (external && !external.ok && config.broker.kind === 'external') {
    throw new AppError('broker-url-invalid', `Broker URL '${config.broker.url}' is not valid (${external.reason}); use mqtt://HOST:PORT`, {
      url: config.broker.url,
    })
  }

  ensureDataDir(config.dataDir)
  const databaseFile = join(config.dataDir, DATABASE_FILE_NAME)
  const db = openDatabase(databaseFile)
  const stopOnFailure: Array<() => Promise<void> | void> = [
    () => {
      db.close()
    },
  ]

  try {
    const devices = createSqliteDeviceRepository(db)
    const models = createSqliteModelRepository(db)
    const directives = createSqliteDirectiveRepository(db)
    const telemetry = createSqliteTelemetryRepository(db)
    const credentials = createScryptCredentialHasher()
    const store = createFsModelStore(join(config.dataDir, 'models'))
    // Nobody is connected before our broker or connection exists; retained status messages will say who is.
    await devices.markAllOffline()

    let broker: EmbeddedBroker | undefined
    let bus: Awaited<ReturnType<typeof connectMqttMessageBus>>
    let brokerUrl: string
    const clientId = `${CONTROL_CENTER_USERNAME}-${randomBytes(8).toString('hex')}`
    if (config.broker.kind === 'embedded') {
      const secret = readOrCreateBrokerSecret(config.dataDir)
      broker = await startEmbeddedBroker({
        host: config.broker.host,
        port: config.broker.port,
        controlCenterSecret: secret,
        verifyDevicePassword: createDevicePasswordCheck(devices, credentials),
        log,
        wildcardHost: hostname(),
      })
      const startedBroker = broker
      stopOnFailure.push(() => startedBroker.close())
      brokerUrl = broker.url
      bus = await connectMqttMessageBus({
        // Same process: reach a wildcard listener through loopback.
        url: brokerUrlFor(config.broker.host, broker.port),
        username: CONTROL_CENTER_USERNAME,
        password: secret,
        clientId,
        connectTimeoutMs: EMBEDDED_CONNECT_TIMEOUT_MS,
        log,
      })
    } else {
      brokerUrl = external?.ok ? external.displayUrl : config.broker.url
      bus = await connectMqttMessageBus({
        url: config.broker.url,
        username: config.broker.username,
        password: config.broker.password,
        clientId,
        connectTimeoutMs: EXTERNAL_CONNECT_TIMEOUT_MS,
        log,
      })
    }
    const startedBus = bus
    stopOnFailure.push(() => startedBus.close())

    const events = createEventHub(outpostEvents, log)
    const notifier: Notifier = {
      deviceChanged: (device) => events.emit('device.changed', device),
      modelChanged: (model) => events.emit('model.changed', model),
    }
    const devicesService = createDevicesService({ devices, credentials, brokerUrl, clock, notifier, log })
    const modelService = createModelService({
      models, devices, directives, store, inspector: createOnnxModelInspector(), hasher: nodeContentHasher, bus, clock, notifier, log,
    })
    const fleet = createFleetService({ devices, models, directives, telemetry, store, bus, clock, notifier, log })
    fleet.start()
    await bus.subscribe(topics.allUpFilter)

    const pruneTelemetry = () => {
      telemetry
        .pruneReceivedBefore(new Date(clock.nowMs() - TELEMETRY_RETENTION_MS).toISOString())
        .catch((error: unknown) => log.error('Pruning old telemetry failed', error))
    }
    pruneTelemetry()
    const pruneTimer = setInterval(pruneTelemetry, TELEMETRY_PRUNE_INTERVAL_MS)
    pruneTimer.unref()

    const info: SystemInfo = {
      productVersion: readProductVersion(),
      host: config.host,
      dataDir: config.dataDir,
      databaseFile,
      brokerUrl,
      brokerKind: config.broker.kind,
      startedAt,
    }
    log.info('Control center backend started', { dataDir: config.dataDir, brokerUrl, brokerKind: config.broker.kind })

    let closing: Promise<void> | undefined
    return {
      handlers: createHandlers({ info, devices: devicesService, models: modelService }),
      events,
      info,
      close() {
        closing ??= (async () => {
          clearInterval(pruneTimer)
          // Let messages already received finish (their replies still need the bus), then stop in dependency order.
          fleet.stop()
          await fleet.idle()
          await startedBus.close()
          await broker?.close()
          await devices.markAllOffline()
          db.close()
          log.info('Control center backend stopped', { droppedMessages: fleet.droppedMessageCounts() })
        })()
        return closing
      },
    }
  } catch (error) {
    for (const stop of stopOnFailure.reverse()) {
      try {
        await stop()
      } catch (stopError) {
        log.error('Cleanup after a failed start failed', stopError)
      }
    }
    throw error
  }
}

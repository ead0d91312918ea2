/**
 * Builds the whole control center backend from config: data directory, database, embedded broker (or an external
 * one), the control center's MQTT connection, services and the RPC handler table. Knows nothing about Electron:
 * the desktop app and headless mode both call it (anchors-aesthetics.md §5 example 6).
 */
import { randomBytes, randomUUID } from 'node:crypto'
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
import { createFsModelCardStore } from '../adapters/packaging/fsModelCardStore.ts'
import { createOnnxModelPackager } from '../adapters/packaging/onnxModelPackager.ts'
import { DATABASE_FILE_NAME, openDatabase } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteDeviceRepository } from '../adapters/sqlite/sqliteDeviceRepository.ts'
import { createSqliteDirectiveRepository } from '../adapters/sqlite/sqliteDirectiveRepository.ts'
import { createSqliteModelRepository } from '../adapters/sqlite/sqliteModelRepository.ts'
import { createSqliteTelemetryRepository } from '../adapters/sqlite/sqliteTelemetryRepository.ts'
import { createSqliteTelemetryStore } from '../adapters/sqlite/sqliteTelemetryStore.ts'
import { createSqliteAuditLog } from '../adapters/sqlite/sqliteAuditLog.ts'
import { createSqliteDeviceLabelLookup, createSqliteLatestDirectiveLookup, createSqliteRolloutRepository } from '../adapters/sqlite/sqliteRolloutRepository.ts'
import { createSqliteReleaseRepository } from '../adapters/sqlite/sqliteReleaseRepository.ts'
import { createFsReleaseBundleStore } from '../adapters/bundle/fsReleaseBundleStore.ts'
import { loadTrustDir } from '../adapters/bundle/loadTrustDir.ts'
import { nodeSha256 } from '../adapters/keystore/keyFile.ts'
import { brokerUrlFor, checkBrokerUrl } from '../core/config/brokerUrl.ts'
import { CONTROL_CENTER_USERNAME } from '../core/fleet/brokerIdentity.ts'
import type { MetricFamily } from '../ports/MetricsSource.ts'
import type { Notifier } from '../ports/Notifier.ts'
import { createDriftService } from '../services/driftService.ts'
import { createTelemetryService } from '../services/telemetryService.ts'
import { createDevicePasswordCheck, createDevicesService } from '../services/devicesService.ts'
import { createFleetService } from '../services/fleetService.ts'
import { createModelService } from '../services/modelService.ts'
import { createRolloutService } from '../services/rolloutService.ts'
import { createReleaseService } from '../services/releaseService.ts'
import { createPackagingService } from '../services/packagingService.ts'
import { createHandlers } from './handlers.ts'
import { createModelDeployDirectiveSender } from './modelDeployDirectiveSender.ts'

export { resolveDefaultDataDir } from '../core/config/resolveDefaultDataDir.ts'
export { listDevicesFromDataDir, openDatabaseReadOnly } from './listDevicesFromDataDir.ts'

export interface BackendConfig {
  dataDir: string
  host: 'electron' | 'headless'
  broker: { kind: 'embedded'; host: string; port: number } | { kind: 'external'; url: string; username?: string; password?: string }
  /**
   * The trust folder of `outpost keys init` (root.json + the director key file) and the passphrase of that key.
   * Without it releases can be listed but not imported, and no directive can be signed.
   */
  trust?: { dir: string; passphrase: string }
}

export interface Backend {
  handlers: Handlers<OutpostMethods>
  events: EventHub<OutpostEvents>
  info: SystemInfo
  /** Stops the MQTT connection, then the embedded broker, then the database. Idempotent. */
  close(): Promise<void>
  /** Counters and gauges for `GET /metrics` (telemetry ingest, rollups, alerts). */
  collectMetrics?: () => Promise<MetricFamily[]>
}

/** The embedded broker runs in this process, so its first connection is immediate; an external one may be slower. */
const EMBEDDED_CONNECT_TIMEOUT_MS = 5_000
const EXTERNAL_CONNECT_TIMEOUT_MS = 10_000

/**
 * Throws AppError 'data-dir-unwritable', 'database-corrupt', 'port-in-use', 'broker-url-invalid',
 * 'broker-unreachable' or 'unauthorized' (an external broker refused the credentials, or the passphrase does not
 * open the director key). With `trust`: 'root-invalid', 'metadata-expired' or 'not-found' for an unusable trust
 * folder. Whatever it started before failing is stopped again.
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

  // Before anything starts: a wrong passphrase or a broken root should fail the start, not a later import.
  const trust = config.trust === undefined ? null : await loadTrustDir(config.trust.dir, config.trust.passphrase, clock.nowMs())

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
    // Ingest commits in batches; each committed batch asks the telemetry service for a rollup pass soon after.
    let requestRollup = () => {}
    const telemetry = createSqliteTelemetryRepository(db, { onCommitted: () => requestRollup() })
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
    const productVersion = readProductVersion()
    const packagingService = createPackagingService({
      models,
      store,
      cards: createFsModelCardStore(join(config.dataDir, 'models')),
      packager: createOnnxModelPackager(),
      importModel: modelService.importBytes,
      clock,
      toolVersion: productVersion,
      createOperationId: () => randomUUID(),
      onProgress: (progress) => events.emit('packaging.progressed', progress),
      log,
    })
    const releaseService = createReleaseService({
      releases: createSqliteReleaseRepository(db),
      bundles: createFsReleaseBundleStore(join(config.dataDir, 'releases')),
      trust,
      sha256: nodeSha256,
      clock,
      onReleaseChanged: (release) => events.emit('release.changed', release),
      log,
    })
    const telemetryStore = createSqliteTelemetryStore(db, { nowIso: () => new Date(clock.nowMs()).toISOString() })
    const telemetryService = createTelemetryService({
      rollups: telemetryStore.rollupJob,
      queries: telemetryStore.queries,
      ingest: telemetry,
      clock,
      notifier: {
        alertRaised: (alert) => events.emit('alert.raised', alert),
        telemetryIngested: (notice) => events.emit('telemetry.ingested', notice),
      },
      log,
    })
    requestRollup = () => telemetryService.requestPass()
    telemetryService.start()
    stopOnFailure.push(() => telemetryService.stop())
    const driftService = createDriftService({ queries: telemetryStore.queries, store: telemetryStore.driftStore, clock, log })
    const fleet = createFleetService({ devices, models, directives, telemetry, store, bus, clock, notifier, log })
    fleet.start()
    const auditLog = createSqliteAuditLog(db, nodeContentHasher, clock)
    const rolloutService = createRolloutService({
      rollouts: createSqliteRolloutRepository(db, auditLog),
      audit: auditLog,
      // Rollout directives travel the deploy path until devices verify signed directives (see the sender's header).
      sender: createModelDeployDirectiveSender({
        deploy: (modelId, deviceIds) => modelService.deploy(modelId, deviceIds),
        latest: createSqliteLatestDirectiveLookup(db),
      }),
      devices,
      models,
      clock,
      log,
      newRolloutId: () => `r-${randomBytes(6).toString('hex')}`,
      onProgress: (summary) => events.emit('rollout.progressed', summary),
      labels: createSqliteDeviceLabelLookup(db),
    })
    await bus.subscribe(topics.allUpFilter)
    // Every rollout that was running when the control center stopped goes on from its stored state.
    rolloutService.startTicking()

    const info: SystemInfo = {
      productVersion,
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
      handlers: createHandlers({ info, devices: devicesService, models: modelService, packaging: packagingService, releases: releaseService, rollouts: rolloutService, drift: driftService }),
      events,
      info,
      collectMetrics: () => telemetryService.collectMetrics(),
      close() {
        closing ??= (async () => {
          // Let messages already received finish (their replies still need the bus), then stop in dependency order.
          await rolloutService.stopTicking()
          fleet.stop()
          await fleet.idle()
          // Commit and roll up what was received, so nothing waits in memory when the database closes.
          await telemetryService.stop()
          await telemetry.close()
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

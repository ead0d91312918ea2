/**
 * Runs N agents in one process for demos and load tests. Each has its own MQTT connection, identity and data dir
 * (`<dataDir>/<deviceId>`); they share one execution-provider probe and use one onnxruntime thread each.
 */
import { AppError } from '../../src-shared/errors.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import type { DeviceCredential } from './adapters/credentialsFile.ts'
import { ensureDirectory } from './adapters/fsStore.ts'
import { type AgentConfig, createAgent, probeCapabilities, simulatedDataDir } from './createAgent.ts'
import type { AgentRuntime } from './services/agentRuntime.ts'

export interface SimulationOptions {
  count: number
  brokerUrl: string
  dataDir: string
  idPrefix: string
  /** When given, the first `count` entries name the devices and carry their passwords. */
  credentials?: readonly DeviceCredential[]
  /** Shared password for prefix-named devices (brokers that accept any device, or tests). */
  password?: string
  heartbeatIntervalMs: number
  telemetryIntervalMs: number
  workloadRatePerS: number
  /** Extra per-agent settings (tests shorten backoff and timeouts). */
  tuning?: Pick<AgentConfig, 'backoff' | 'transfer'>
}

export interface Simulation {
  runtimes: readonly AgentRuntime[]
  close(): Promise<void>
}

export function simulatedIdentities(options: Pick<SimulationOptions, 'count' | 'idPrefix' | 'credentials' | 'password'>): Array<{ deviceId: string; password?: string }> {
  if (options.credentials !== undefined) {
    if (options.credentials.length < options.count) {
      throw new AppError('invalid-input', `The credentials file lists ${options.credentials.length} devices but --simulate asked for ${options.count}`)
    }
    return options.credentials.slice(0, options.count).map((credential) => ({ deviceId: credential.deviceId, password: credential.password }))
  }
  return Array.from({ length: options.count }, (_, i) => ({
    deviceId: `${options.idPrefix}-${i + 1}`,
    ...(options.password === undefined ? {} : { password: options.password }),
  }))
}

export async function startSimulation(options: SimulationOptions, loggerFor: (deviceId: string) => Logger): Promise<Simulation> {
  const identities = simulatedIdentities(options)
  // One clear failure for the shared parent rather than one per simulated device.
  await ensureDirectory(options.dataDir)
  const capabilities = await probeCapabilities()
  const runtimes = identities.map((identity) =>
    createAgent(
      {
        brokerUrl: options.brokerUrl,
        deviceId: identity.deviceId,
        dataDir: simulatedDataDir(options.dataDir, identity.deviceId),
        ...(identity.password === undefined ? {} : { password: identity.password }),
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        telemetryIntervalMs: options.telemetryIntervalMs,
        workloadRatePerS: options.workloadRatePerS,
        intraOpNumThreads: 1,
        ...options.tuning,
      },
      capabilities,
      loggerFor(identity.deviceId),
    ),
  )
  const closeAll = () => Promise.all(runtimes.map((runtime) => runtime.close())).then(() => undefined)
  try {
    await Promise.all(runtimes.map((runtime) => runtime.start()))
  } catch (error) {
    await closeAll()
    throw error
  }
  return { runtimes, close: closeAll }
}

/**
 * Runs N agents in one process for demos and load tests. Each has its own MQTT connection, identity and data dir
 * (`<dataDir>/<deviceId>`); they share one execution-provider probe and use one onnxruntime thread each. Fault
 * options make some or all of them misbehave, deterministically per device id.
 */
import { AppError } from '../../src-shared/errors.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import type { DeviceCredential } from './adapters/credentialsFile.ts'
import { ensureDirectory } from './adapters/fsStore.ts'
import { type InferenceHttpServer, startInferenceHttp } from './adapters/inferenceHttp.ts'
import { seedFromString } from './core/seededRandom.ts'
import { type AgentConfig, createAgent, probeCapabilities, simulatedDataDir } from './createAgent.ts'
import type { AgentFaults, AgentRuntime } from './services/agentRuntime.ts'

export interface SimulationFaults {
  extraLatencyMs?: number
  /** This fraction of the devices fails every health check, chosen by a hash of the device id. */
  healthFailRatio?: number
  /** Crash the process right after any agent persists this install state. */
  crashAtState?: AgentFaults['crashAtState']
  crash?: () => void
  /** Cut each broker connection after a random time with this mean. */
  flakyMeanConnectedMs?: number
}

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
  soakMs?: number
  stepTimeoutMs?: number
  executionProviderOrder?: readonly string[]
  /** Device i (from 0) serves the local inference API on 127.0.0.1:apiPortBase+i; no API when absent. */
  apiPortBase?: number
  drift?: { afterMs: number; shift: number }
  faults?: SimulationFaults
  /** Extra per-agent settings (tests shorten backoff and timeouts). */
  tuning?: Pick<AgentConfig, 'backoff' | 'transfer'>
}

export interface Simulation {
  runtimes: readonly AgentRuntime[]
  apis: readonly InferenceHttpServer[]
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

/** Whether a device is among the `ratio` that fail their health check: stable per id, independent of its other seeds. */
export function isHealthFailureDevice(deviceId: string, ratio: number): boolean {
  return seedFromString(`health-fault:${deviceId}`) / 2 ** 32 < ratio
}

function faultsFor(deviceId: string, faults: SimulationFaults | undefined): AgentConfig['faults'] {
  if (faults === undefined) return undefined
  return {
    ...(faults.extraLatencyMs === undefined ? {} : { extraLatencyMs: faults.extraLatencyMs }),
    ...(faults.healthFailRatio === undefined ? {} : { failHealthCheck: isHealthFailureDevice(deviceId, faults.healthFailRatio) }),
    ...(faults.crashAtState === undefined ? {} : { crashAtState: faults.crashAtState }),
    ...(faults.crash === undefined ? {} : { crash: faults.crash }),
    ...(faults.flakyMeanConnectedMs === undefined ? {} : { flakyMeanConnectedMs: faults.flakyMeanConnectedMs }),
  }
}

export async function startSimulation(options: SimulationOptions, loggerFor: (deviceId: string) => Logger): Promise<Simulation> {
  const identities = simulatedIdentities(options)
  // One clear failure for the shared parent rather than one per simulated device.
  await ensureDirectory(options.dataDir)
  const capabilities = await probeCapabilities()
  const runtimes = identities.map((identity) => {
    const faults = faultsFor(identity.deviceId, options.faults)
    return createAgent(
      {
        brokerUrl: options.brokerUrl,
        deviceId: identity.deviceId,
        dataDir: simulatedDataDir(options.dataDir, identity.deviceId),
        ...(identity.password === undefined ? {} : { password: identity.password }),
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        telemetryIntervalMs: options.telemetryIntervalMs,
        workloadRatePerS: options.workloadRatePerS,
        intraOpNumThreads: 1,
        ...(options.soakMs === undefined ? {} : { soakMs: options.soakMs }),
        ...(options.stepTimeoutMs === undefined ? {} : { stepTimeoutMs: options.stepTimeoutMs }),
        ...(options.executionProviderOrder === undefined ? {} : { executionProviderOrder: options.executionProviderOrder }),
        ...(options.drift === undefined ? {} : { drift: options.drift }),
        ...(faults === undefined ? {} : { faults }),
        ...options.tuning,
      },
      capabilities,
      loggerFor(identity.deviceId),
    )
  })
  const apis: InferenceHttpServer[] = []
  const closeAll = async () => {
    await Promise.all(apis.map((api) => api.close()))
    await Promise.all(runtimes.map((runtime) => runtime.close()))
  }
  try {
    await Promise.all(runtimes.map((runtime) => runtime.start()))
    const base = options.apiPortBase
    if (base !== undefined) {
      for (const [index, runtime] of runtimes.entries()) {
        apis.push(await startInferenceHttp({ service: runtime, listen: { port: base === 0 ? 0 : base + index }, log: loggerFor(runtime.deviceId) }))
      }
    }
  } catch (error) {
    await closeAll()
    throw error
  }
  return { runtimes, apis, close: closeAll }
}

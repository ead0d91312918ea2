/** Composition root of one agent: builds the adapters and the runtime. Used by main.ts, the simulator and tests. */
import { join } from 'node:path'
import { PROTOCOL_VERSION, type StatusMessage, encodeMessage } from '../../src-shared/protocol/messages.ts'
import { topics } from '../../src-shared/protocol/topics.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import { createFsStore } from './adapters/fsStore.ts'
import { probeHardware, readRssBytes } from './adapters/hardwareProbe.ts'
import { createMqttLink } from './adapters/mqttLink.ts'
import { createOnnxModelRuntime, probeExecutionProviders } from './adapters/onnxRuntime.ts'
import type { BackoffPolicy } from './core/backoff.ts'
import { planExecutionProviders } from './core/executionProviders.ts'
import { createSeededRandom, seedFromString } from './core/seededRandom.ts'
import { systemClock } from './ports/clock.ts'
import type { InstallVerifier } from './ports/installVerifier.ts'
import { type AgentFaults, AgentRuntime, type AgentRuntimeOptions, type Capabilities } from './services/agentRuntime.ts'
import type { TransferSettings } from './services/chunkDownload.ts'

export interface AgentConfig {
  brokerUrl: string
  deviceId: string
  /** This agent's own data dir (the simulator passes `<dataDir>/<deviceId>`). */
  dataDir: string
  password?: string
  heartbeatIntervalMs: number
  telemetryIntervalMs: number
  workloadRatePerS: number
  /** Soak period of the health gate before commit. Default 0 here; the CLI defaults to 60 s (5 s with --simulate). */
  soakMs?: number
  /** Bound of a waiting install step such as the control center's trial ack (default 120 s). */
  stepTimeoutMs?: number
  /** This device's execution-provider order (`--execution-providers`), best first. */
  executionProviderOrder?: readonly string[]
  /** onnxruntime threads per session; 1 for simulated fleets, 0 lets onnxruntime decide. */
  intraOpNumThreads?: number
  backoff?: BackoffPolicy
  transfer?: Partial<TransferSettings>
  verifier?: InstallVerifier
  seed?: number
  drift?: { afterMs: number; shift: number }
  faults?: AgentFaults & {
    /** Cut the broker connection after a random time with this mean (`--fault-flaky-network`). */
    flakyMeanConnectedMs?: number
  }
}

/** Hardware plus the execution providers that really load. The provider probe runs once per process. */
export async function probeCapabilities(): Promise<Capabilities> {
  const [hardware, executionProviders] = await Promise.all([probeHardware(), probeExecutionProviders()])
  return { hardware, executionProviders }
}

/** Available providers in the default preference order: the list a model load tries without configuration. */
export function preferredProvidersOf(capabilities: Capabilities): string[] {
  return planExecutionProviders({ probes: capabilities.executionProviders }).providers
}

export function createAgent(config: AgentConfig, capabilities: Capabilities, log: Logger): AgentRuntime {
  const seed = config.seed ?? seedFromString(config.deviceId)
  const flakyMeanMs = config.faults?.flakyMeanConnectedMs
  const link = createMqttLink({
    url: config.brokerUrl,
    deviceId: config.deviceId,
    ...(config.password === undefined ? {} : { password: config.password }),
    // Retained, so the control center sees the device offline even if it was not listening when the broker sent it.
    will: () => {
      const offline: StatusMessage = { v: PROTOCOL_VERSION, deviceId: config.deviceId, isOnline: false, at: systemClock.nowIso() }
      return { topic: topics.status(config.deviceId), payload: encodeMessage(offline), retain: true }
    },
    ...(config.backoff === undefined ? {} : { backoff: config.backoff }),
    // Its own stream, so the cuts are reproducible per device whatever the workload draws.
    ...(flakyMeanMs === undefined ? {} : { flaky: { meanConnectedMs: flakyMeanMs, random: createSeededRandom(seed ^ 0x5f1a_4e7d) } }),
    log,
  })
  const options: AgentRuntimeOptions = {
    deviceId: config.deviceId,
    link,
    store: createFsStore(config.dataDir),
    models: createOnnxModelRuntime(config.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: config.intraOpNumThreads }),
    capabilities,
    ...(config.executionProviderOrder === undefined ? {} : { executionProviderOrder: config.executionProviderOrder }),
    clock: systemClock,
    log,
    readRssBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    telemetryIntervalMs: config.telemetryIntervalMs,
    workloadRatePerS: config.workloadRatePerS,
    health: {
      soakMs: config.soakMs ?? 0,
      ...(config.stepTimeoutMs === undefined ? {} : { stepTimeoutMs: config.stepTimeoutMs }),
    },
    ...(config.verifier === undefined ? {} : { verifier: config.verifier }),
    ...(config.drift === undefined ? {} : { drift: config.drift }),
    ...(config.faults === undefined ? {} : { faults: config.faults }),
    ...(config.transfer === undefined ? {} : { transfer: config.transfer }),
    seed,
  }
  return new AgentRuntime(options)
}

/** Data dir of one simulated device inside the simulator's data dir. */
export function simulatedDataDir(dataDir: string, deviceId: string): string {
  return join(dataDir, deviceId)
}

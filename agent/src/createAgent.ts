/** Composition root of one agent: builds the adapters and the runtime. Used by main.ts, the simulator and tests. */
import { join } from 'node:path'
import { PROTOCOL_VERSION, type StatusMessage, encodeMessage } from '../../src-shared/protocol/messages.ts'
import { topics } from '../../src-shared/protocol/topics.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import { createFsStore } from './adapters/fsStore.ts'
import { probeHardware, readRssBytes } from './adapters/hardwareProbe.ts'
import { createMqttLink } from './adapters/mqttLink.ts'
import { EXECUTION_PROVIDER_PREFERENCE, createOnnxModelRuntime, probeExecutionProviders } from './adapters/onnxRuntime.ts'
import type { BackoffPolicy } from './core/backoff.ts'
import { systemClock } from './ports/clock.ts'
import { AgentRuntime, type Capabilities, type AgentRuntimeOptions } from './services/agentRuntime.ts'
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
  /** onnxruntime threads per session; 1 for simulated fleets, 0 lets onnxruntime decide. */
  intraOpNumThreads?: number
  backoff?: BackoffPolicy
  transfer?: Partial<TransferSettings>
  seed?: number
}

/** Hardware plus the execution providers that really load. The provider probe runs once per process. */
export async function probeCapabilities(): Promise<Capabilities> {
  const [hardware, executionProviders] = await Promise.all([probeHardware(), probeExecutionProviders()])
  return { hardware, executionProviders }
}

/** Available providers in preference order: the list a model load tries. */
export function preferredProvidersOf(capabilities: Capabilities): string[] {
  const available = new Set(capabilities.executionProviders.filter((probe) => probe.isAvailable).map((probe) => probe.name))
  const preferred = EXECUTION_PROVIDER_PREFERENCE.filter((name) => available.has(name))
  return preferred.length > 0 ? preferred : ['cpu']
}

export function createAgent(config: AgentConfig, capabilities: Capabilities, log: Logger): AgentRuntime {
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
    log,
  })
  const options: AgentRuntimeOptions = {
    deviceId: config.deviceId,
    link,
    store: createFsStore(config.dataDir),
    models: createOnnxModelRuntime(config.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: config.intraOpNumThreads }),
    capabilities,
    preferredProviders: preferredProvidersOf(capabilities),
    clock: systemClock,
    log,
    readRssBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    telemetryIntervalMs: config.telemetryIntervalMs,
    workloadRatePerS: config.workloadRatePerS,
    ...(config.transfer === undefined ? {} : { transfer: config.transfer }),
    ...(config.seed === undefined ? {} : { seed: config.seed }),
  }
  return new AgentRuntime(options)
}

/** Data dir of one simulated device inside the simulator's data dir. */
export function simulatedDataDir(dataDir: string, deviceId: string): string {
  return join(dataDir, deviceId)
}

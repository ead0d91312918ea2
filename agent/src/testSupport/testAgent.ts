/** Test support: builds a real agent (MQTT, onnxruntime, file system) with short intervals and timeouts. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../../src-shared/log.ts'
import type { Logger } from '../../../src-shared/rpc/types.ts'
import { type AgentConfig, createAgent, probeCapabilities } from '../createAgent.ts'
import type { AgentRuntime } from '../services/agentRuntime.ts'

export async function makeTempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

export async function createTestAgent(
  overrides: Partial<AgentConfig> & Pick<AgentConfig, 'brokerUrl' | 'deviceId' | 'dataDir'>,
  log: Logger = silentLogger,
): Promise<AgentRuntime> {
  const capabilities = await probeCapabilities()
  return createAgent(
    {
      heartbeatIntervalMs: 200,
      telemetryIntervalMs: 300,
      workloadRatePerS: 0,
      intraOpNumThreads: 1,
      backoff: { baseDelayMs: 50, maxDelayMs: 400, minDelayMs: 20 },
      transfer: { pieceTimeoutMs: 1_000, maxAttemptsPerPiece: 3 },
      soakMs: 100,
      stepTimeoutMs: 3_000,
      ...overrides,
    },
    capabilities,
    log,
  )
}

/** Polls `condition` every 20 ms until it holds; rejects after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, description = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

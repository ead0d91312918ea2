/**
 * In-process inference overhead (issue 5 target: <= 1.03x). A real agent installs the tiny classifier from a real
 * control center, then AgentRuntime.infer (the call behind the local inference API) is timed against a raw
 * onnxruntime session.run on the same model bytes with the same session options, in alternating rounds.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { createAgent, probeCapabilities } from '../../agent/src/createAgent.ts'
import type { AgentRuntime } from '../../agent/src/services/agentRuntime.ts'
import { tinyClassifierPath } from '../../fixtures/scripts/generateModels.ts'
import { BugError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { startControlCenter } from '../support/controlCenter.ts'
import { nowMs, quantile } from '../support/stats.ts'
import { withTempDir } from '../support/tempDir.ts'
import { type Benchmark, ratioOf } from '../types.ts'

const FEATURE_COUNT = 16
const DEVICE_ID = 'bench-infer-1'
const INSTALL_TIMEOUT_MS = 30_000

function features(seed: number): Float32Array {
  return Float32Array.from({ length: FEATURE_COUNT }, (_, i) => Math.sin(seed * 31 + i))
}

async function installedAgent(dataDir: string, brokerUrl: string, password: string): Promise<AgentRuntime> {
  const capabilities = await probeCapabilities()
  // Same settings as `outpost-agent --device-id`: onnxruntime chooses its own thread count, no synthetic workload.
  return createAgent(
    { brokerUrl, deviceId: DEVICE_ID, dataDir, password, heartbeatIntervalMs: 15_000, telemetryIntervalMs: 60_000, workloadRatePerS: 0 },
    capabilities,
    silentLogger,
  )
}

export const benchmark: Benchmark = {
  name: 'inference-overhead',
  description: 'AgentRuntime.infer on an installed model vs raw onnxruntime session.run, p50 latency',
  async run({ quick, log }) {
    const pairs = quick ? 40 : 5000
    const warmupCalls = quick ? 10 : 200
    return withTempDir('infer', async (dir) => {
      const controlCenter = await startControlCenter(join(dir, 'control-center'))
      let agent: AgentRuntime | undefined
      let session: ort.InferenceSession | undefined
      try {
        const [credentials] = await controlCenter.enroll([DEVICE_ID])
        if (!credentials) throw new BugError('enroll returned no credentials')
        agent = await installedAgent(join(dir, 'agent'), controlCenter.brokerUrl, credentials.password)
        await agent.start()
        await controlCenter.waitForOnline([DEVICE_ID], INSTALL_TIMEOUT_MS)
        const model = await controlCenter.importModel(tinyClassifierPath, 'tiny-classifier')
        const committed = controlCenter.waitForCommitted([DEVICE_ID], model.sha256, INSTALL_TIMEOUT_MS)
        await controlCenter.deploy(model.modelId, [DEVICE_ID])
        await committed
        log('agent committed the tiny classifier')

        session = await ort.InferenceSession.create(await readFile(tinyClassifierPath))
        const rawSession = session
        const runtime = agent
        const rawCall = (seed: number) => rawSession.run({ features: new ort.Tensor('float32', features(seed), [1, FEATURE_COUNT]) })
        const agentCall = (seed: number) => runtime.infer({ features: { elementType: 'float32', dims: [1, FEATURE_COUNT], data: features(seed) } })
        for (let i = 0; i < warmupCalls; i += 1) {
          await rawCall(i)
          await agentCall(i)
        }
        const rawMs: number[] = []
        const agentMs: number[] = []
        const time = async (call: (seed: number) => Promise<unknown>, samples: number[], seed: number) => {
          const startedMs = nowMs()
          await call(seed)
          samples.push(nowMs() - startedMs)
        }
        // Paired calls, alternating which side goes first, so load from other processes hits both sides alike.
        for (let i = 0; i < pairs; i += 1) {
          if (i % 2 === 0) {
            await time(rawCall, rawMs, i)
            await time(agentCall, agentMs, i)
          } else {
            await time(agentCall, agentMs, i)
            await time(rawCall, rawMs, i)
          }
        }
        const rawP50 = quantile(rawMs, 0.5)
        const agentP50 = quantile(agentMs, 0.5)
        const ep = agent.snapshot().executionProvider ?? 'unknown'
        return [
          {
            id: 'inference-in-process-p50',
            title: 'In-process inference through AgentRuntime.infer, p50',
            value: agentP50,
            unit: 'ms',
            baseline: { value: rawP50, unit: 'ms', title: 'raw onnxruntime session.run, same model and options, p50' },
            ratio: ratioOf(agentP50, rawP50),
            target: { comparison: '<=', ratio: 1.03 },
            notes:
              `tiny-classifier.onnx, batch 1, ${ep} provider, ${pairs} alternating pairs of calls; ` +
              `p95 agent ${quantile(agentMs, 0.95).toFixed(4)} ms vs raw ${quantile(rawMs, 0.95).toFixed(4)} ms. ` +
              'The raw side builds its input tensor per call too.',
          },
        ]
      } finally {
        await agent?.close()
        await session?.release()
        await controlCenter.close()
      }
    })
  },
}

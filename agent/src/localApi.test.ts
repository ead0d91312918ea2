/** The local inference API in front of a real agent while the control center (a test harness) updates its model. */
import * as ort from 'onnxruntime-node'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src-shared/log.ts'
import type { GoldenCase } from '../../src-shared/protocol/messages.ts'
import { type InferenceHttpServer, startInferenceHttp } from './adapters/inferenceHttp.ts'
import type { AgentRuntime } from './services/agentRuntime.ts'
import {
  ControlCenterHarness,
  type ServedArtifact,
  type TestBroker,
  buildArtifact,
  buildVariantModel,
  readFixtureModel,
  startTestBroker,
} from './testSupport/controlCenterHarness.ts'
import { createTestAgent, makeTempDir } from './testSupport/testAgent.ts'

const FEATURES = Array.from({ length: 16 }, (_, i) => Math.sin(i))

/** A golden case for `bytes` from a plain onnxruntime session; `skew` makes it wrong on purpose. */
async function goldenFor(bytes: Uint8Array, skew = 0): Promise<GoldenCase> {
  const session = await ort.InferenceSession.create(bytes)
  try {
    const result = await session.run({ features: new ort.Tensor('float32', Float32Array.from(FEATURES), [1, 16]) })
    return {
      inputs: { features: { type: 'float32', dims: [1, 16], data: FEATURES } },
      outputs: { probabilities: { type: 'float32', dims: [1, 4], data: Array.from(result.probabilities?.data as Float32Array).map((value) => value + skew) } },
      absTolerance: 1e-4,
    }
  } finally {
    await session.release()
  }
}

describe('local inference API during updates', () => {
  let broker: TestBroker
  let harness: ControlCenterHarness
  let agent: AgentRuntime
  let api: InferenceHttpServer
  const cleanups: Array<() => Promise<void>> = []

  beforeEach(async () => {
    broker = await startTestBroker()
    harness = new ControlCenterHarness(broker)
    await harness.start()
    const dataDir = await makeTempDir('outpost-local-api-')
    cleanups.push(dataDir.remove)
    agent = await createTestAgent({ brokerUrl: broker.url, deviceId: 'd-api', dataDir: dataDir.path, soakMs: 300 })
    cleanups.push(() => agent.close())
    await agent.start()
    await harness.waitFor((message) => message.kind === 'sync', 10_000, 'sync')
    api = await startInferenceHttp({ service: agent, listen: { port: 0 }, log: silentLogger })
    cleanups.push(() => api.close())
  })

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    await broker.close()
  })

  async function install(seq: number, artifact: ServedArtifact): Promise<void> {
    harness.serve(artifact)
    await harness.sendDirective(harness.installDirective('d-api', seq, artifact))
  }

  async function inferOnce(): Promise<{ status: number; sha256: string | undefined }> {
    const response = await fetch(`${api.url}/v1/models/active/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: { features: { dims: [1, 16], data: FEATURES } } }),
    })
    const body = (await response.json()) as { model?: { sha256: string } }
    return { status: response.status, sha256: body.model?.sha256 }
  }

  it('keeps answering while a new model downloads, switches and soaks, then serves the new one', async () => {
    const first = buildArtifact(readFixtureModel(), { chunkSizeBytes: 4096 })
    await install(1, first)
    await harness.waitForReport('d-api', 'committed', 1)

    const second = buildArtifact(buildVariantModel(3), { chunkSizeBytes: 1024, version: '2.0.0' })
    let isInstalling = true
    const answers: Array<{ status: number; sha256: string | undefined }> = []
    // Four clients in a loop, as apps on the device would be, for the whole update.
    const clients = Array.from({ length: 4 }, async () => {
      while (isInstalling) answers.push(await inferOnce())
    })
    await install(2, second)
    await harness.waitForReport('d-api', 'committed', 2, 20_000)
    isInstalling = false
    await Promise.all(clients)

    expect(answers.filter((answer) => answer.status !== 200)).toEqual([])
    const shas = answers.map((answer) => answer.sha256)
    expect(shas).toContain(first.ref.sha256)
    expect(shas).toContain(second.ref.sha256)
    expect((await inferOnce()).sha256).toBe(second.ref.sha256)
    expect(agent.snapshot().inferenceCount).toBeGreaterThanOrEqual(answers.length)
  })

  it('rolls back a model that fails its golden check and keeps serving the previous one', async () => {
    const firstBytes = readFixtureModel()
    const first = buildArtifact(firstBytes, { chunkSizeBytes: 4096 })
    await install(1, { ...first, ref: { ...first.ref, golden: [await goldenFor(firstBytes)] } })
    await harness.waitForReport('d-api', 'committed', 1)

    const secondBytes = buildVariantModel(7)
    const second = buildArtifact(secondBytes, { chunkSizeBytes: 4096, version: '2.0.0' })
    await install(2, { ...second, ref: { ...second.ref, golden: [await goldenFor(secondBytes, 0.01)] } })
    const rolledBack = await harness.waitForReport('d-api', 'rolled-back', 2)
    expect(rolledBack.body).toMatchObject({ errorCode: 'golden-mismatch', message: expect.stringMatching(/Golden case 1: .*probabilities\[0\]/) })

    expect(await inferOnce()).toEqual({ status: 200, sha256: first.ref.sha256 })
    const metadata = (await (await fetch(`${api.url}/v1/models/tiny-classifier`)).json()) as { sha256: string; isOnTrial: boolean }
    expect(metadata).toMatchObject({ sha256: first.ref.sha256, isOnTrial: false })
    expect(agent.snapshot().badReleases).toEqual([second.ref.sha256])
  })
})

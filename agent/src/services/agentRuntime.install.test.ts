import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Directive, PROTOCOL_VERSION, encodeMessage } from '../../../src-shared/protocol/messages.ts'
import { topics } from '../../../src-shared/protocol/topics.ts'
import { ControlCenterHarness, type TestBroker, buildArtifact, readFixtureModel, startTestBroker } from '../testSupport/controlCenterHarness.ts'
import { createTestAgent, eventually, makeTempDir } from '../testSupport/testAgent.ts'
import type { AgentRuntime } from './agentRuntime.ts'

describe('AgentRuntime install over a real broker', () => {
  let broker: TestBroker
  let harness: ControlCenterHarness
  let dataDir: { path: string; remove: () => Promise<void> }
  let agent: AgentRuntime | undefined

  beforeEach(async () => {
    broker = await startTestBroker()
    harness = new ControlCenterHarness(broker)
    await harness.start()
    dataDir = await makeTempDir('outpost-agent-install-')
  })

  afterEach(async () => {
    await agent?.close()
    agent = undefined
    await broker.close()
    await dataDir.remove()
  })

  async function startAgent(deviceId: string, workloadRatePerS = 0): Promise<AgentRuntime> {
    agent = await createTestAgent({ brokerUrl: broker.url, deviceId, dataDir: dataDir.path, workloadRatePerS })
    await agent.start()
    await harness.waitFor((message) => message.deviceId === deviceId && message.kind === 'sync', 10_000, 'sync')
    return agent
  }

  it('announces itself, installs the fixture model, runs it and reports latency for that model', async () => {
    const runtime = await startAgent('d-1', 50)
    const online = harness.from('d-1', 'status')[0]
    expect(online?.body.isOnline).toBe(true)
    const sync = harness.from('d-1', 'sync')[0]
    expect(sync?.body).toMatchObject({ lastDirectiveSeq: 0, active: null, installState: 'idle' })
    expect(sync?.body.executionProviders).toContainEqual({ name: 'cpu', isAvailable: true })

    const artifact = buildArtifact(readFixtureModel(), { chunkSizeBytes: 1024 })
    harness.serve(artifact)
    await harness.sendDirective(harness.installDirective('d-1', 1, artifact))

    const committed = await harness.waitForReport('d-1', 'committed', 1)
    expect(committed.body).toMatchObject({ modelSha256: artifact.ref.sha256, executionProvider: 'cpu', progress: 1, errorCode: null })
    const states = harness.from('d-1', 'report').map((message) => message.body.state)
    expect(states.filter((state, i) => state !== states[i - 1])).toEqual(['accepted', 'downloading', 'verified', 'staged', 'switching', 'trial', 'committed'])
    const trialOk = harness.from('d-1', 'report').find((message) => message.body.state === 'trial' && message.body.progress === 1)
    expect(trialOk?.body).toMatchObject({ directiveSeq: 1, modelSha256: artifact.ref.sha256 })
    const commitRecord = JSON.parse(await readFile(join(dataDir.path, 'committed.json'), 'utf8')) as { slot: string; model: { sha256: string } }
    expect(commitRecord).toMatchObject({ slot: 'a', model: { sha256: artifact.ref.sha256 } })

    const telemetry = await harness.waitFor(
      (message) =>
        message.deviceId === 'd-1' && message.kind === 'telemetry' && message.body.modelSha256 === artifact.ref.sha256 && Number(message.body.requestCount) > 0,
      10_000,
      'telemetry with requests',
    )
    const counts = telemetry.body.latencyCounts as number[]
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(Number(telemetry.body.requestCount) - Number(telemetry.body.errorCount))
    const seqs = harness.from('d-1', 'telemetry').map((message) => Number(message.body.reportSeq))
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] ?? 0) + i))

    const pointer = JSON.parse(await readFile(join(dataDir.path, 'active.json'), 'utf8')) as { slot: string; model: { sha256: string } }
    expect(pointer.model.sha256).toBe(artifact.ref.sha256)
    const result = await runtime.infer({ features: { elementType: 'float32', dims: [2, 16], data: new Float32Array(32).fill(0.5) } })
    expect(result.outputs.probabilities?.dims).toEqual([2, 4])
    expect(result.modelSha256).toBe(artifact.ref.sha256)

    await harness.waitFor((message) => message.deviceId === 'd-1' && message.kind === 'heartbeat' && (message.body.active as { sha256?: string } | null)?.sha256 === artifact.ref.sha256)
  })

  it('drops forged, oversized, malformed and replayed messages without acting on them', async () => {
    const runtime = await startAgent('d-2')
    const artifact = buildArtifact(readFixtureModel(), { chunkSizeBytes: 4096 })
    harness.serve(artifact)
    await harness.sendDirective(harness.installDirective('d-2', 3, artifact))
    await harness.waitForReport('d-2', 'committed', 3)
    const reportsBefore = harness.from('d-2', 'report').length

    await harness.publish(topics.desired('d-2'), new TextEncoder().encode('{not json'))
    await harness.publish(topics.desired('d-2'), new Uint8Array(64 * 1024).fill(32))
    await harness.publish(topics.desired('d-2'), encodeMessage({ v: PROTOCOL_VERSION, deviceId: 'd-2', seq: 9, action: 'explode' }))
    await harness.sendDirective({ ...harness.installDirective('d-other', 10, artifact) })
    await harness.publish(topics.desired('d-2'), encodeMessage(harness.installDirective('d-other', 11, artifact)))
    await harness.sendDirective(harness.installDirective('d-2', 2, artifact))
    await harness.publish(topics.chunk('d-2', artifact.ref.sha256, 0), artifact.chunks[0] ?? new Uint8Array())

    await eventually(() => {
      const drops = runtime.snapshot().droppedMessages
      return drops['malformed-directive'] === 2 && drops['too-large'] === 1 && drops['wrong-device'] === 1 && drops['stale-seq'] === 1 && drops['unsolicited-chunk'] === 1
    }, 5_000, 'drop counters')
    expect(runtime.snapshot()).toMatchObject({ lastDirectiveSeq: 3, installState: 'committed', isConnected: true })
    expect(harness.from('d-2', 'report')).toHaveLength(reportsBefore)
  })

  it('rejects a tampered chunk with artifact-corrupt and keeps the committed model active', async () => {
    const runtime = await startAgent('d-3')
    const first = buildArtifact(readFixtureModel(), { chunkSizeBytes: 1024 })
    harness.serve(first)
    await harness.sendDirective(harness.installDirective('d-3', 1, first))
    await harness.waitForReport('d-3', 'committed', 1)

    const secondBytes = Uint8Array.from(readFixtureModel())
    secondBytes[secondBytes.length - 1] = (secondBytes[secondBytes.length - 1] ?? 0) ^ 1
    const second = buildArtifact(secondBytes, { chunkSizeBytes: 1024, version: '2.0.0' })
    harness.serve(second, { tamper: (index) => index === 1 })
    await harness.sendDirective(harness.installDirective('d-3', 2, second))

    const failed = await harness.waitForReport('d-3', 'failed', 2)
    expect(failed.body).toMatchObject({ errorCode: 'artifact-corrupt', modelSha256: second.ref.sha256 })
    expect(runtime.snapshot().active?.sha256).toBe(first.ref.sha256)
    expect(runtime.snapshot().droppedMessages['chunk-hash-mismatch']).toBe(3)
    expect(harness.from('d-3', 'report').some((message) => message.body.directiveSeq === 2 && message.body.state === 'committed')).toBe(false)
    const result = await runtime.infer({ features: { elementType: 'float32', dims: [1, 16], data: new Float32Array(16) } })
    expect(result.modelSha256).toBe(first.ref.sha256)
  })

  it('rolls back bytes onnxruntime cannot load, reports model-load-failed, keeps the previous model and marks the release bad', async () => {
    const runtime = await startAgent('d-4')
    const good = buildArtifact(readFixtureModel(), { chunkSizeBytes: 4096 })
    harness.serve(good)
    await harness.sendDirective(harness.installDirective('d-4', 1, good))
    await harness.waitForReport('d-4', 'committed', 1)

    const garbage = buildArtifact(new TextEncoder().encode('this is not an onnx model '.repeat(40)), { chunkSizeBytes: 512, version: '9.9.9' })
    harness.serve(garbage)
    await harness.sendDirective(harness.installDirective('d-4', 2, garbage))
    const rolledBack = await harness.waitForReport('d-4', 'rolled-back', 2)
    expect(rolledBack.body.errorCode).toBe('model-load-failed')
    await eventually(() => runtime.snapshot().installPhase === 'idle', 5_000, 'the failure path to finish')
    expect(runtime.snapshot()).toMatchObject({ active: { sha256: good.ref.sha256 }, installState: 'rolled-back', badReleases: [garbage.ref.sha256] })
    const pointer = JSON.parse(await readFile(join(dataDir.path, 'active.json'), 'utf8')) as { slot: string; model: { sha256: string } }
    expect(pointer).toMatchObject({ slot: 'a', model: { sha256: good.ref.sha256 } })
    const slotB = await readFile(join(dataDir.path, 'slots', 'b', 'model.onnx'))
    expect(slotB.byteLength).toBe(garbage.ref.sizeBytes)

    // Marked bad: a newer directive for the same bytes is refused unless it says retry.
    await harness.sendDirective(harness.installDirective('d-4', 3, garbage))
    expect((await harness.waitForReport('d-4', 'failed', 3)).body.errorCode).toBe('release-marked-bad')
    await harness.sendDirective({ ...harness.installDirective('d-4', 4, garbage), retry: true } as Directive)
    expect((await harness.waitForReport('d-4', 'rolled-back', 4)).body.errorCode).toBe('model-load-failed')
  })

  it('lets a newer directive supersede a download in flight', async () => {
    const runtime = await startAgent('d-5')
    const stuck = buildArtifact(new TextEncoder().encode('x'.repeat(5000)), { chunkSizeBytes: 1000, version: '0.0.1' })
    harness.serve(stuck, { hold: () => true })
    await harness.sendDirective(harness.installDirective('d-5', 1, stuck))
    await harness.waitForReport('d-5', 'downloading', 1)

    const good = buildArtifact(readFixtureModel(), { chunkSizeBytes: 2048 })
    harness.serve(good)
    await harness.sendDirective(harness.installDirective('d-5', 2, good))
    await harness.waitForReport('d-5', 'committed', 2)
    expect(runtime.snapshot()).toMatchObject({ lastDirectiveSeq: 2, installState: 'committed' })
    expect(harness.from('d-5', 'report').some((message) => message.body.directiveSeq === 1 && message.body.state === 'failed')).toBe(false)
  })
})

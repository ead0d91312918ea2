import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Directive, PROTOCOL_VERSION, encodeMessage } from '../../../src-shared/protocol/messages.ts'
import { topics } from '../../../src-shared/protocol/topics.ts'
import {
  ControlCenterHarness,
  type ServedArtifact,
  type TestBroker,
  buildArtifact,
  buildVariantModel,
  readFixtureModel,
  startTestBroker,
} from '../testSupport/controlCenterHarness.ts'
import { createTestAgent, eventually, makeTempDir } from '../testSupport/testAgent.ts'
import type { AgentConfig } from '../createAgent.ts'
import type { AgentRuntime } from './agentRuntime.ts'

describe('the health gate before commit', () => {
  let broker: TestBroker
  let harness: ControlCenterHarness
  const cleanups: Array<() => Promise<void>> = []

  beforeEach(async () => {
    broker = await startTestBroker()
    harness = new ControlCenterHarness(broker)
    await harness.start()
  })

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    await broker.close()
  })

  async function startAgent(deviceId: string, overrides: Partial<AgentConfig> = {}): Promise<AgentRuntime> {
    const dataDir = await makeTempDir(`outpost-trial-${deviceId}-`)
    cleanups.push(dataDir.remove)
    const agent = await createTestAgent({ brokerUrl: broker.url, deviceId, dataDir: dataDir.path, ...overrides })
    cleanups.push(() => agent.close())
    await agent.start()
    await harness.waitFor((message) => message.deviceId === deviceId && message.kind === 'sync', 10_000, 'sync')
    return agent
  }

  async function install(deviceId: string, seq: number, artifact: ServedArtifact, extra: Partial<Directive> = {}): Promise<void> {
    harness.serve(artifact)
    await harness.sendDirective({ ...harness.installDirective(deviceId, seq, artifact), ...extra } as Directive)
  }

  it('commits only after the control center acknowledges the trial report', async () => {
    harness.isAckingTrials = false
    const agent = await startAgent('t-ack', { stepTimeoutMs: 20_000 })
    const artifact = buildArtifact(readFixtureModel(), { chunkSizeBytes: 4096 })
    await install('t-ack', 1, artifact)
    const trialOk = await harness.waitFor(
      (message) => message.deviceId === 't-ack' && message.kind === 'report' && message.body.state === 'trial' && message.body.progress === 1,
      10_000,
      'the trial-ok report',
    )
    // The new model already serves while it waits, but it is not committed.
    expect(agent.snapshot()).toMatchObject({ installPhase: 'trial', active: { sha256: artifact.ref.sha256 } })
    expect(agent.describeModel('active')?.isOnTrial).toBe(true)

    const wrongAck = { v: PROTOCOL_VERSION, type: 'trial-ack', directiveSeq: 9, modelSha256: artifact.ref.sha256 }
    await harness.publish(topics.command('t-ack'), encodeMessage(wrongAck))
    await eventually(() => agent.snapshot().droppedMessages['unsolicited-trial-ack'] === 1, 5_000, 'the wrong ack to be dropped')
    expect(agent.snapshot().installPhase).toBe('trial')
    expect(harness.from('t-ack', 'report').some((message) => message.body.state === 'committed')).toBe(false)

    harness.ackTrial('t-ack', trialOk.body)
    await harness.waitForReport('t-ack', 'committed', 1)
    expect(agent.snapshot()).toMatchObject({ installPhase: 'committed', installState: 'committed' })
    expect(agent.describeModel('tiny-classifier')?.isOnTrial).toBe(false)
  })

  it('rolls back with trial-ack-timeout when no ack comes within the step timeout', async () => {
    harness.isAckingTrials = false
    const agent = await startAgent('t-timeout', { stepTimeoutMs: 300 })
    const artifact = buildArtifact(readFixtureModel(), { chunkSizeBytes: 4096 })
    await install('t-timeout', 1, artifact)
    const rolledBack = await harness.waitForReport('t-timeout', 'rolled-back', 1)
    expect(rolledBack.body.errorCode).toBe('trial-ack-timeout')
    // A first install has nothing to go back to: no model is served.
    await eventually(() => agent.snapshot().installPhase === 'idle', 5_000, 'cleanup')
    expect(agent.snapshot()).toMatchObject({ active: null, badReleases: [artifact.ref.sha256] })
  })

  it('rolls back a device whose health check fails by fault injection, and a superseded trial without marking it bad', async () => {
    const sabotaged = await startAgent('t-fault', { faults: { failHealthCheck: true } })
    const artifact = buildArtifact(readFixtureModel(), { chunkSizeBytes: 4096 })
    await install('t-fault', 1, artifact)
    expect((await harness.waitForReport('t-fault', 'rolled-back', 1)).body.errorCode).toBe('health-check-failed')
    await eventually(() => sabotaged.snapshot().installPhase === 'idle', 5_000, 'cleanup')

    harness.isAckingTrials = false
    const agent = await startAgent('t-super', { stepTimeoutMs: 20_000 })
    await install('t-super', 1, artifact)
    await harness.waitFor((message) => message.deviceId === 't-super' && message.body.state === 'trial' && message.body.progress === 1)
    const next = buildArtifact(buildVariantModel(11), { chunkSizeBytes: 4096, version: '3' })
    await install('t-super', 2, next)
    await harness.waitFor((message) => message.deviceId === 't-super' && message.body.directiveSeq === 2 && message.body.state === 'trial' && message.body.progress === 1)
    expect(harness.from('t-super', 'report').some((message) => message.body.directiveSeq === 1 && message.body.errorCode === 'superseded')).toBe(true)
    expect(agent.snapshot()).toMatchObject({ badReleases: [], active: { sha256: next.ref.sha256 }, installPhase: 'trial' })
  })
})

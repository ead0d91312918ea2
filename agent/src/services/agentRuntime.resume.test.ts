import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ControlCenterHarness, type TestBroker, buildArtifact, readFixtureModel, startTestBroker } from '../testSupport/controlCenterHarness.ts'
import { createTestAgent, makeTempDir } from '../testSupport/testAgent.ts'
import type { AgentRuntime } from './agentRuntime.ts'

describe('AgentRuntime resumes an interrupted install', () => {
  let broker: TestBroker
  let harness: ControlCenterHarness
  let dataDir: { path: string; remove: () => Promise<void> }
  const agents: AgentRuntime[] = []

  beforeEach(async () => {
    broker = await startTestBroker()
    harness = new ControlCenterHarness(broker)
    await harness.start()
    dataDir = await makeTempDir('outpost-agent-resume-')
  })

  afterEach(async () => {
    for (const agent of agents.splice(0)) await agent.close()
    await broker.close()
    await dataDir.remove()
  })

  async function startAgent(): Promise<AgentRuntime> {
    const agent = await createTestAgent({ brokerUrl: broker.url, deviceId: 'd-r', dataDir: dataDir.path })
    agents.push(agent)
    await agent.start()
    return agent
  }

  it('finishes after a restart without requesting the chunks it had verified, then restores the model on the next start', async () => {
    const artifact = buildArtifact(readFixtureModel(), { chunkSizeBytes: 256 })
    const verifiedBeforeStop = 5
    expect(artifact.ref.chunkCount).toBeGreaterThan(verifiedBeforeStop + 3)
    harness.serve(artifact, { hold: (index) => index >= verifiedBeforeStop })

    const first = await startAgent()
    await harness.waitFor((message) => message.kind === 'sync', 10_000, 'first sync')
    await harness.sendDirective(harness.installDirective('d-r', 1, artifact))
    const expectedFraction = (verifiedBeforeStop * 256) / artifact.ref.sizeBytes
    await harness.waitFor(
      (message) => message.kind === 'report' && message.body.state === 'downloading' && Number(message.body.progress) >= expectedFraction - 1e-9,
      10_000,
      'progress after the answered chunks',
    )
    await first.close()
    const progressLog = await readFile(join(dataDir.path, 'staging', `${artifact.ref.sha256}.progress`), 'utf8')
    expect(progressLog.trim().split('\n').map(Number).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4])

    const requestsBeforeRestart = harness.from('d-r', 'req').length
    harness.serve(artifact)
    const second = await startAgent()
    await harness.waitForReport('d-r', 'committed', 1)
    const laterRequests = harness.from('d-r', 'req').slice(requestsBeforeRestart).map((message) => message.body)
    expect(laterRequests.some((request) => request.piece === 'chunklist')).toBe(false)
    const requestedIndices = laterRequests.map((request) => Number(request.index))
    expect(Math.min(...requestedIndices)).toBe(verifiedBeforeStop)
    expect(new Set(requestedIndices)).toEqual(new Set(Array.from({ length: artifact.ref.chunkCount - verifiedBeforeStop }, (_, i) => i + verifiedBeforeStop)))
    expect(second.snapshot().active?.sha256).toBe(artifact.ref.sha256)
    await second.close()

    const syncsBefore = harness.from('d-r', 'sync').length
    const third = await startAgent()
    expect(third.snapshot()).toMatchObject({ active: { sha256: artifact.ref.sha256 }, executionProvider: 'cpu', lastDirectiveSeq: 1 })
    const sync = await harness.waitFor((message) => message.kind === 'sync' && harness.from('d-r', 'sync').indexOf(message) >= syncsBefore, 10_000, 'third sync')
    expect(sync.body).toMatchObject({ lastDirectiveSeq: 1, installState: 'committed', active: { sha256: artifact.ref.sha256 } })
  })
})

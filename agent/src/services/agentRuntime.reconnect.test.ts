import { afterEach, describe, expect, it } from 'vitest'
import { ControlCenterHarness, type TestBroker, startTestBroker } from '../testSupport/controlCenterHarness.ts'
import { createTestAgent, eventually, makeTempDir } from '../testSupport/testAgent.ts'
import type { AgentRuntime } from './agentRuntime.ts'

describe('AgentRuntime across a broker outage', () => {
  const cleanups: Array<() => Promise<void>> = []

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('reconnects to a restarted broker on the same port, re-syncs and delivers the telemetry windows it kept', async () => {
    let broker: TestBroker = await startTestBroker()
    let isBrokerOpen = true
    cleanups.push(async () => {
      if (isBrokerOpen) await broker.close()
    })
    const before = new ControlCenterHarness(broker)
    await before.start()
    const dataDir = await makeTempDir('outpost-agent-reconnect-')
    cleanups.push(dataDir.remove)
    const agent: AgentRuntime = await createTestAgent({ brokerUrl: broker.url, deviceId: 'd-x', dataDir: dataDir.path })
    cleanups.push(() => agent.close())
    await agent.start()
    await before.waitFor((message) => message.kind === 'sync', 10_000, 'first sync')
    await before.waitFor((message) => message.kind === 'telemetry', 10_000, 'a telemetry window')

    const port = broker.port
    await broker.close()
    isBrokerOpen = false
    await eventually(() => !agent.snapshot().isConnected, 5_000, 'agent notices the outage')
    // Windows closed during the outage are kept for later.
    await new Promise((resolve) => setTimeout(resolve, 700))

    broker = await startTestBroker(port)
    isBrokerOpen = true
    const after = new ControlCenterHarness(broker)
    await after.start()
    const sync = await after.waitFor((message) => message.deviceId === 'd-x' && message.kind === 'sync', 10_000, 'sync after reconnect')
    expect(sync.body).toMatchObject({ deviceId: 'd-x', lastDirectiveSeq: 0 })
    await after.waitFor((message) => message.kind === 'status' && message.body.isOnline === true, 5_000, 'online status again')
    await after.waitFor((message) => message.kind === 'heartbeat', 5_000, 'heartbeats again')

    await eventually(() => after.from('d-x', 'telemetry').length >= 3, 5_000, 'telemetry after reconnect')
    const seqs = [...before.from('d-x', 'telemetry'), ...after.from('d-x', 'telemetry')].map((message) => Number(message.body.reportSeq))
    const distinct = [...new Set(seqs)].sort((a, b) => a - b)
    const first = distinct[0] ?? 0
    expect(distinct).toEqual(distinct.map((_, i) => first + i))
    expect(after.from('d-x', 'telemetry').length).toBeGreaterThan(0)
    expect(Math.min(...after.from('d-x', 'telemetry').map((message) => Number(message.body.reportSeq)))).toBeLessThanOrEqual(
      Math.max(...before.from('d-x', 'telemetry').map((message) => Number(message.body.reportSeq))) + 1,
    )
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src-shared/log.ts'
import { type Simulation, isHealthFailureDevice, startSimulation } from './simulator.ts'
import { ControlCenterHarness, type TestBroker, startTestBroker } from './testSupport/controlCenterHarness.ts'
import { makeTempDir } from './testSupport/testAgent.ts'

describe('simulator faults', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('picks the devices that fail their health check by id hash: stable, and close to the ratio', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `sim-${i + 1}`)
    const failing = ids.filter((id) => isHealthFailureDevice(id, 0.3))
    expect(failing.length).toBeGreaterThan(2000 * 0.25)
    expect(failing.length).toBeLessThan(2000 * 0.35)
    expect(ids.filter((id) => isHealthFailureDevice(id, 0.3))).toEqual(failing)
    expect(ids.some((id) => isHealthFailureDevice(id, 0))).toBe(false)
    expect(ids.every((id) => isHealthFailureDevice(id, 1))).toBe(true)
  })

  it('cuts flaky links and reconnects them, and serves each device on its own API port', async () => {
    const broker: TestBroker = await startTestBroker()
    cleanups.push(() => broker.close())
    const harness = new ControlCenterHarness(broker)
    await harness.start()
    const dir = await makeTempDir('outpost-sim-faults-')
    cleanups.push(dir.remove)
    const simulation: Simulation = await startSimulation(
      {
        count: 2,
        brokerUrl: broker.url,
        dataDir: dir.path,
        idPrefix: 'flaky',
        heartbeatIntervalMs: 60_000,
        telemetryIntervalMs: 60_000,
        workloadRatePerS: 0,
        apiPortBase: 0,
        faults: { flakyMeanConnectedMs: 150 },
        tuning: { backoff: { baseDelayMs: 20, maxDelayMs: 50, minDelayMs: 10 } },
      },
      () => silentLogger,
    )
    cleanups.push(() => simulation.close())
    for (const deviceId of ['flaky-1', 'flaky-2']) {
      await harness.waitFor((message) => message.deviceId === deviceId && message.kind === 'sync' && harness.from(deviceId, 'sync').length >= 3, 15_000, `three syncs from ${deviceId}`)
      // Each cut is a network failure: the broker publishes the device's last will.
      expect(harness.from(deviceId, 'status').some((message) => message.body.isOnline === false)).toBe(true)
    }
    expect(simulation.apis).toHaveLength(2)
    const health = await fetch(`${simulation.apis[1]?.url ?? ''}/healthz`)
    expect(await health.json()).toMatchObject({ deviceId: 'flaky-2', status: 'no-model' })
  })
})

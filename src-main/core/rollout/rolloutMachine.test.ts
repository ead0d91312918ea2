import { describe, expect, it } from 'vitest'
import type { RolloutStatus } from '../../../src-shared/domain/rollout.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { applyOperatorAction, pendingSends, tickRollout, type OperatorAction } from './rolloutMachine.ts'
import { countOutcomes } from './rolloutReport.ts'
import { aFleet, aSpec, NEW_SHA, OLD_SHA } from './testing/builders.ts'
import { createRolloutDriver, type RolloutDriver } from './testing/rolloutDriver.ts'

const SOAK_MS = 60_000

/** Every device waiting on a directive reports it committed (install: the new release; rollback: the old one). */
function commitAwaiting(driver: RolloutDriver, options: { p95Ms?: number } = {}) {
  for (const deviceId of driver.awaiting()) {
    const row = driver.row(deviceId)
    const sha = row.rollbackSeq !== null ? (row.previous?.sha256 ?? OLD_SHA) : (row.target?.sha256 ?? NEW_SHA)
    driver.report(deviceId, { installState: 'committed', activeSha256: sha, latency: options.p95Ms === undefined ? null : { p95Ms: options.p95Ms, windowEndAt: '2099-01-01T00:00:00.000Z' } })
  }
}

/** Ticks, sends and lets devices commit until the rollout is final and no device is in flight. */
function runToEnd(driver: RolloutDriver, stepMs = 10_000, maxSteps = 500) {
  for (let step = 0; step < maxSteps; step += 1) {
    driver.tick()
    driver.send()
    commitAwaiting(driver)
    const isFinal = ['completed', 'halted', 'aborted'].includes(driver.rollout.status)
    if (isFinal && countOutcomes(driver.rows, driver.rollout)['in-progress'] === 0) return
    driver.advance(stepMs)
  }
}

const baselineAll = (driver: RolloutDriver, p95Ms: number) => {
  for (const row of driver.rows) driver.report(row.deviceId, { latency: { p95Ms, windowEndAt: driver.nowIso() }, reportedDirectiveSeq: 0 })
}

describe('operator actions', () => {
  const actions: Record<string, OperatorAction> = {
    pause: { type: 'pause', actor: 'alice', reason: '' },
    resume: { type: 'resume', actor: 'alice', reason: '' },
    approve: { type: 'approve', actor: 'alice', reason: '' },
    abortKeep: { type: 'abort', mode: 'keep', actor: 'alice', reason: 'stop' },
  }
  const table: Array<[RolloutStatus, keyof typeof actions, RolloutStatus | 'conflict']> = [
    ['draft', 'pause', 'conflict'],
    ['draft', 'abortKeep', 'aborted'],
    ['running', 'pause', 'paused'],
    ['running', 'resume', 'conflict'],
    ['running', 'approve', 'conflict'],
    ['running', 'abortKeep', 'aborted'],
    ['paused', 'resume', 'running'],
    ['paused', 'pause', 'conflict'],
    ['paused', 'abortKeep', 'aborted'],
    ['waiting-approval', 'approve', 'running'],
    ['waiting-approval', 'pause', 'paused'],
    ['waiting-approval', 'abortKeep', 'aborted'],
    ['halted', 'resume', 'conflict'],
    ['halted', 'pause', 'conflict'],
    ['halted', 'abortKeep', 'aborted'],
    ['completed', 'abortKeep', 'conflict'],
    ['completed', 'pause', 'conflict'],
    ['aborted', 'abortKeep', 'conflict'],
    ['aborted', 'resume', 'conflict'],
  ]
  it.each(table)('%s + %s -> %s', (status, actionName, expected) => {
    const driver = createRolloutDriver(aSpec())
    if (status !== 'draft') driver.start()
    const rollout = { ...driver.rollout, status }
    const action = actions[actionName] as OperatorAction
    if (expected === 'conflict') {
      expect(() => applyOperatorAction(rollout, driver.rows, action, driver.nowIso())).toThrow(AppError)
      return
    }
    const change = applyOperatorAction(rollout, driver.rows, action, driver.nowIso())
    expect(change.rollout.status).toBe(expected)
    expect(change.rollout.revision).toBe(rollout.revision + 1)
    expect(change.effects.some((effect) => effect.type === 'record-audit' && effect.entry.actor === 'alice')).toBe(true)
  })
})

describe('tickRollout', () => {
  it('decides the canary once: a second tick with the same inputs decides no new directive', () => {
    const driver = createRolloutDriver(aSpec())
    driver.start()
    const first = driver.tick()
    expect(first.changedDeviceIds).toHaveLength(5)
    expect(pendingSends(driver.rollout, driver.rows).sends.map((send) => send.deviceId)).toEqual(first.changedDeviceIds)
    for (let rerun = 0; rerun < 2; rerun += 1) {
      const again = tickRollout({ rollout: driver.rollout, devices: driver.rows, observations: new Map(), drift: null, now: driver.nowIso() })
      expect(again.changedDeviceIds).toEqual([])
      expect(pendingSends(again.rollout, again.devices).sends).toHaveLength(5)
    }
    expect(driver.send()).toHaveLength(5)
    driver.tick()
    expect(driver.send()).toHaveLength(0)
    expect(driver.sent.map((send) => send.stage)).toEqual([0, 0, 0, 0, 0])
  })

  it('runs 20 devices through every wave to completed, each device committed once', () => {
    const driver = createRolloutDriver(aSpec())
    driver.start()
    runToEnd(driver)
    expect(driver.rollout.status).toBe('completed')
    expect(driver.rollout.waves.map((wave) => wave.status)).toEqual(['passed', 'passed', 'passed'])
    expect(countOutcomes(driver.rows, driver.rollout).committed).toBe(20)
    expect(new Set(driver.sent.map((send) => send.deviceId)).size).toBe(20)
    expect(driver.sent).toHaveLength(20)
    const audited = driver.effects.flatMap((effect) => (effect.type === 'record-audit' ? [effect.entry.action] : []))
    expect(audited).toEqual(['rollout.created', 'rollout.started', 'rollout.wave-passed', 'rollout.wave-passed', 'rollout.wave-passed', 'rollout.completed'])
  })

  it('soaks each wave after its last device settled before starting the next', () => {
    const driver = createRolloutDriver(aSpec())
    driver.start()
    driver.tick()
    driver.send()
    commitAwaiting(driver)
    driver.tick()
    expect(driver.rollout.waves[0]?.decision?.reasons).toEqual(['soaking'])
    driver.advance(SOAK_MS - 1)
    driver.tick()
    expect(driver.rollout.currentWave).toBe(0)
    driver.advance(1)
    driver.tick()
    expect(driver.rollout.currentWave).toBe(1)
    expect(driver.send()).toHaveLength(5)
  })

  it('halts the canary on health-check failures and rolls back its switched devices only', () => {
    const driver = createRolloutDriver(aSpec())
    driver.start()
    driver.tick()
    driver.send()
    const canary = driver.awaiting()
    canary.slice(0, 3).forEach((deviceId) => driver.report(deviceId, { installState: 'rolled-back', installErrorCode: 'health-check-failed' }))
    commitAwaiting(driver)
    driver.tick()
    expect(driver.rollout.status).toBe('halted')
    expect(driver.rollout.haltReasons).toEqual(['health-check-failures'])
    const rollbacks = driver.send()
    expect(rollbacks.map((send) => [send.deviceId, send.action, send.artifact.sha256])).toEqual(canary.slice(3).map((deviceId) => [deviceId, 'rollback', OLD_SHA]))
    runToEnd(driver)
    expect(driver.sent.filter((send) => send.action === 'install').every((send) => canary.includes(send.deviceId))).toBe(true)
    expect(countOutcomes(driver.rows, driver.rollout)).toMatchObject({ 'rolled-back': 5, 'not-sent': 15, committed: 0, 'in-progress': 0 })
  })

  it("with onBreach 'halt' it halts but sends no rollback", () => {
    const driver = createRolloutDriver(aSpec({ onBreach: 'halt' }))
    driver.start()
    driver.tick()
    driver.send()
    driver.awaiting().forEach((deviceId) => driver.report(deviceId, { installState: 'failed', installErrorCode: 'hash-mismatch' }))
    driver.tick()
    expect(driver.rollout.status).toBe('halted')
    expect(driver.send()).toEqual([])
  })

  it('halts on a 40% p95 regression measured on the same devices and rolls the canary back', () => {
    const driver = createRolloutDriver(aSpec())
    baselineAll(driver, 10)
    driver.start()
    driver.tick()
    driver.send()
    expect(driver.rows.filter((row) => row.wave === 0).every((row) => row.baselineP95Ms === 10)).toBe(true)
    commitAwaiting(driver, { p95Ms: 14 })
    driver.tick()
    driver.advance(1000)
    driver.tick()
    // Measured at once, judged after the soak.
    expect(driver.rollout.waves[0]?.decision).toMatchObject({ verdict: 'wait', reasons: ['soaking'], values: { latencyRatio: 1.4 } })
    driver.advance(SOAK_MS)
    driver.tick()
    expect(driver.rollout.status).toBe('halted')
    expect(driver.rollout.haltReasons).toEqual(['latency-regression'])
    expect(driver.rollout.waves[0]?.decision?.values).toMatchObject({ latencyBasis: 'same-devices', latencyDeviceCount: 5 })
    expect(driver.send().map((send) => send.action)).toEqual(Array(5).fill('rollback'))
  })

  it('waits for approval before a wave that requires it, then sends it', () => {
    const driver = createRolloutDriver(aSpec({ requireApproval: true }))
    driver.start()
    driver.tick()
    driver.send()
    commitAwaiting(driver)
    driver.tick()
    driver.advance(SOAK_MS)
    driver.tick()
    expect(driver.rollout.status).toBe('waiting-approval')
    driver.advance(SOAK_MS)
    driver.tick()
    expect(driver.send()).toEqual([])
    driver.act({ type: 'approve', actor: 'bob', reason: 'canary looks fine' })
    expect(driver.rollout.waves[1]).toMatchObject({ approvedBy: 'bob', status: 'active' })
    driver.tick()
    expect(driver.send()).toHaveLength(5)
  })

  it('sends nothing while paused and continues on resume', () => {
    const driver = createRolloutDriver(aSpec())
    driver.start()
    driver.act({ type: 'pause', actor: 'alice', reason: 'lunch' })
    driver.tick()
    expect(driver.send()).toEqual([])
    driver.act({ type: 'resume', actor: 'alice', reason: '' })
    driver.tick()
    expect(driver.send()).toHaveLength(5)
  })

  it('limits installs per minute and ramps the rate up with successes', () => {
    const driver = createRolloutDriver(aSpec({ waves: [{ cumulativePercent: 100 }], rate: { maxPerMinute: null, ramp: { basePerMinute: 2, factor: 2, successesPerStep: 2 } } }))
    driver.start()
    const perMinute: number[] = []
    for (let minute = 0; minute < 4; minute += 1) {
      driver.tick()
      perMinute.push(driver.send().length)
      commitAwaiting(driver)
      driver.advance(60_000)
    }
    // 2/min; after 2 successes 4/min; after 6 successes 2 * 2^3 = 16/min, of which 14 devices are left.
    expect(perMinute).toEqual([2, 4, 14, 0])
  })

  it('keeps to a fixed rate over a rolling minute', () => {
    const driver = createRolloutDriver(aSpec({ waves: [{ cumulativePercent: 100 }], rate: { maxPerMinute: 3 } }))
    driver.start()
    driver.tick()
    expect(driver.send()).toHaveLength(3)
    driver.advance(59_999)
    driver.tick()
    expect(driver.send()).toHaveLength(0)
    driver.advance(1)
    driver.tick()
    expect(driver.send()).toHaveLength(3)
  })

  it('holds installs outside the maintenance window', () => {
    const driver = createRolloutDriver(aSpec({ maintenanceWindows: [{ daysUtc: [], startMinuteUtc: 120, endMinuteUtc: 240 }] }))
    driver.start()
    driver.tick()
    expect(driver.send()).toEqual([])
    driver.advance(2 * 60 * 60_000)
    driver.tick()
    expect(driver.send()).toHaveLength(5)
  })

  it('counts devices that never acknowledge as silent, and accepted ones that never finish as timed out', () => {
    const driver = createRolloutDriver(aSpec({ timeouts: { silenceTimeoutMs: 60_000, installTimeoutMs: 120_000 } }))
    driver.start()
    driver.tick()
    driver.send()
    const [quiet, slow] = driver.awaiting()
    driver.report(slow ?? '', { installState: 'downloading' })
    for (const deviceId of driver.awaiting()) if (deviceId !== quiet && deviceId !== slow) driver.report(deviceId, { installState: 'committed', activeSha256: NEW_SHA })
    driver.tick()
    driver.advance(60_001)
    driver.tick()
    expect(driver.row(quiet ?? '').status).toBe('silent')
    expect(driver.row(slow ?? '').status).toBe('installing')
    driver.advance(60_000)
    driver.tick()
    expect(driver.row(slow ?? '')).toMatchObject({ status: 'timed-out', errorCode: 'timeout' })
    expect(driver.rollout.waves[0]?.decision?.values).toMatchObject({ silentCount: 1, timedOutCount: 1, committedCount: 3 })
  })

  it('keeps settling the account after completion: a silent device that returns counts as committed', () => {
    const driver = createRolloutDriver(aSpec({ waves: [{ cumulativePercent: 100 }], timeouts: { silenceTimeoutMs: 60_000 } }))
    driver.start()
    driver.tick()
    driver.send()
    const [late, ...rest] = driver.awaiting()
    rest.forEach((deviceId) => driver.report(deviceId, { installState: 'committed', activeSha256: NEW_SHA }))
    driver.advance(60_001)
    driver.tick()
    driver.advance(SOAK_MS)
    driver.tick()
    expect(driver.rollout.status).toBe('completed')
    expect(countOutcomes(driver.rows, driver.rollout)).toMatchObject({ committed: 19, unreachable: 1 })
    driver.report(late ?? '', { installState: 'committed', activeSha256: NEW_SHA })
    const change = driver.tick()
    expect(change.changedDeviceIds).toEqual([late])
    expect(change.effects.filter((effect) => effect.type === 'send-directive' || effect.type === 'record-audit')).toEqual([])
    expect(countOutcomes(driver.rows, driver.rollout)).toMatchObject({ committed: 20, unreachable: 0 })
  })

  it('marks an install another directive replaced as superseded, not as the release failing', () => {
    const driver = createRolloutDriver(aSpec())
    driver.start()
    driver.tick()
    driver.send()
    const [taken] = driver.awaiting()
    driver.report(taken ?? '', { latestDirectiveSeq: 9, reportedDirectiveSeq: 0 })
    driver.tick()
    expect(driver.row(taken ?? '')).toMatchObject({ status: 'failed', errorCode: 'superseded' })
    expect(driver.rollout.waves[0]?.decision?.values.failedCount).toBe(0)
  })

  it('retries the failed cohort within the retry budget', () => {
    const driver = createRolloutDriver(aSpec({ onBreach: 'halt', retries: { maxFailedRetries: 1 } }))
    driver.start()
    driver.tick()
    driver.send()
    const canary = driver.awaiting()
    canary.forEach((deviceId) => driver.report(deviceId, { installState: 'failed', installErrorCode: 'disk-full' }))
    driver.tick()
    expect(driver.rollout.status).toBe('halted')
    driver.act({ type: 'retry', actor: 'alice', reason: 'freed disk space' })
    expect(driver.rollout.status).toBe('running')
    driver.tick()
    const retried = driver.send()
    expect(retried.map((send) => [send.deviceId, send.attempt])).toEqual(canary.map((deviceId) => [deviceId, 2]))
    canary.forEach((deviceId) => driver.report(deviceId, { installState: 'failed', installErrorCode: 'disk-full' }))
    driver.tick()
    expect(() => driver.act({ type: 'retry', actor: 'alice', reason: '' })).toThrow(/no failed or timed-out device left to retry/)
  })

  it('aborting with rollback returns every switched device; keeping leaves them', () => {
    const rollingBack = createRolloutDriver(aSpec())
    rollingBack.start()
    rollingBack.tick()
    rollingBack.send()
    commitAwaiting(rollingBack)
    rollingBack.tick()
    rollingBack.act({ type: 'abort', mode: 'rollback', actor: 'alice', reason: 'customer complaint' })
    expect(rollingBack.rollout).toMatchObject({ status: 'aborted', abortMode: 'rollback' })
    expect(rollingBack.send().map((send) => send.action)).toEqual(Array(5).fill('rollback'))

    const keeping = createRolloutDriver(aSpec())
    keeping.start()
    keeping.tick()
    keeping.send()
    keeping.act({ type: 'abort', mode: 'keep', actor: 'alice', reason: 'enough for today' })
    keeping.tick()
    expect(keeping.send()).toEqual([])
  })

  it('withdraws install intents that were not sent when the rollout stops running', () => {
    const driver = createRolloutDriver(aSpec())
    driver.start()
    driver.tick()
    driver.act({ type: 'pause', actor: 'alice', reason: '' })
    const { sends, staleInstalls } = pendingSends(driver.rollout, driver.rows)
    expect(sends).toEqual([])
    expect(staleInstalls).toHaveLength(5)
    driver.send()
    expect(driver.rows.filter((row) => row.status === 'planned')).toHaveLength(20)
  })

  it('completes at once when no device needs the release', () => {
    const driver = createRolloutDriver(aSpec(), { fleet: aFleet(3).map((device) => ({ ...device, active: { modelId: 'm-bbbbbbbbbbbb', sha256: NEW_SHA } })) })
    const change = driver.start()
    expect(change.rollout.status).toBe('completed')
    expect(countOutcomes(driver.rows, driver.rollout).committed).toBe(3)
  })
})

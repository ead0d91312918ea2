/**
 * RolloutService over real SQLite (devices, models, rollouts, ledger, audit) with a recording DirectiveSender and a
 * scripted fleet: the acceptance journeys of issue 6, crash and restart included.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RolloutDetail, RolloutSummary } from '../../src-shared/domain/rollout.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { createManualClock } from '../adapters/clock/systemClock.ts'
import { nodeContentHasher } from '../adapters/crypto/nodeContentHasher.ts'
import { openDatabase, type SqliteDatabase } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteAuditLog } from '../adapters/sqlite/sqliteAuditLog.ts'
import { createSqliteDeviceRepository } from '../adapters/sqlite/sqliteDeviceRepository.ts'
import { createSqliteModelRepository } from '../adapters/sqlite/sqliteModelRepository.ts'
import { createSqliteRolloutRepository } from '../adapters/sqlite/sqliteRolloutRepository.ts'
import { deviceOutcome } from '../core/rollout/rolloutReport.ts'
import { createRolloutService } from '../services/rolloutService.ts'
import { aModelRecord, createRecordingDirectiveSender, seedDevices, stepFleet, type FleetScript, type RecordingDirectiveSender } from './testing/rolloutFleet.ts'

const OLD = aModelRecord('m-aaaaaaaaaaaa', 'a'.repeat(64), 'classifier')
const NEW = aModelRecord('m-bbbbbbbbbbbb', 'b'.repeat(64), 'classifier')
const MODELS = new Map([OLD, NEW].map((model) => [model.modelId, model]))
const STEP_MS = 10_000
const alice = { actor: 'alice', reason: 'ship 2.0' }
const deviceIds = Array.from({ length: 20 }, (_, index) => `edge-${String(index + 1).padStart(2, '0')}`)

let dir: string
const opened: SqliteDatabase[] = []
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-rollout-service-'))
})
afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

const clock = createManualClock(Date.parse('2025-03-01T00:00:00.000Z'))

/** One control-center process: its own connection to the database file, services over it. */
function startProcess(issued: RecordingDirectiveSender, progress: RolloutSummary[] = []) {
  const db = openDatabase(join(dir, 'outpost.db'))
  opened.push(db)
  const devices = createSqliteDeviceRepository(db)
  const models = createSqliteModelRepository(db)
  const audit = createSqliteAuditLog(db, nodeContentHasher, clock)
  const rollouts = createSqliteRolloutRepository(db, audit)
  let nextId = 0
  const service = createRolloutService({
    rollouts,
    audit,
    sender: issued.sender,
    devices,
    models,
    clock,
    log: silentLogger,
    newRolloutId: () => `r-${String(++nextId).padStart(12, '0')}`,
    onProgress: (summary) => progress.push(summary),
  })
  return { db, devices, models, audit, rollouts, service }
}

type Process = ReturnType<typeof startProcess>

async function seed(process: Process, script: FleetScript = {}) {
  await process.models.insert(OLD)
  await process.models.insert(NEW)
  await seedDevices(process.devices, deviceIds, OLD, new Date(clock.nowMs()).toISOString(), script.baselineP95Ms ?? 10)
}

/** Ticks the service and lets the fleet act, until the rollout is final and nothing is in flight. */
async function runUntilSettled(process: Process, issued: RecordingDirectiveSender, rolloutId: string, script: FleetScript = {}, maxSteps = 200): Promise<RolloutDetail> {
  for (let step = 0; step < maxSteps; step += 1) {
    // Every unsettled rollout, as the backend's timer does (and a restart's first tick).
    await process.service.tick()
    await stepFleet(process.devices, issued, MODELS, clock, script)
    clock.advanceMs(STEP_MS)
    const detail = await process.service.status(rolloutId)
    if (['completed', 'halted', 'aborted'].includes(detail.status) && detail.outcomes['in-progress'] === 0) return detail
  }
  throw new Error(`rollout ${rolloutId} did not settle in ${maxSteps} steps`)
}

const createInput = { release: { name: 'classifier 2.0', variants: [{ name: 'default', modelId: NEW.modelId }] }, soakMs: 60_000 }

function expectOneTerminalStateEach(detail: RolloutDetail) {
  const outcomes = detail.devices.map((row) => deviceOutcome(row, detail))
  expect(outcomes).toHaveLength(deviceIds.length)
  expect(new Set(detail.devices.map((row) => row.deviceId)).size).toBe(deviceIds.length)
  expect(outcomes.filter((outcome) => outcome === 'in-progress')).toEqual([])
}

const installsTo = (issued: RecordingDirectiveSender) => issued.all.filter((record) => record.action === 'install').map((record) => record.deviceId)

describe('RolloutService', () => {
  it('takes 20 devices through every wave of a good release: 20 committed, one directive each', async () => {
    const issued = createRecordingDirectiveSender()
    const progress: RolloutSummary[] = []
    const process = startProcess(issued, progress)
    await seed(process)
    const draft = await process.service.create(createInput, alice)
    expect(draft).toMatchObject({ status: 'draft', deviceCount: 20 })
    expect(draft.waves.map((wave) => wave.deviceCount)).toEqual([5, 5, 10])
    expect(issued.all).toEqual([])

    const started = await process.service.start(draft.rolloutId, alice)
    expect(started.statusCounts.sent).toBe(5)
    const detail = await runUntilSettled(process, issued, draft.rolloutId)

    expect(detail.status).toBe('completed')
    expect(detail.outcomes).toMatchObject({ committed: 20, failed: 0, 'rolled-back': 0, unreachable: 0 })
    expect(installsTo(issued).sort()).toEqual([...deviceIds].sort())
    expect(issued.all.map((record) => record.request.stage)).toEqual([...Array(5).fill(0), ...Array(5).fill(1), ...Array(10).fill(2)])
    expectOneTerminalStateEach(detail)
    expect(progress.at(-1)).toMatchObject({ rolloutId: draft.rolloutId, status: 'completed' })

    const trail = await process.service.auditTrail(draft.rolloutId, 100)
    expect(trail.entries.map((entry) => entry.action)).toEqual([
      'rollout.created',
      'rollout.started',
      'rollout.wave-passed',
      'rollout.wave-passed',
      'rollout.wave-passed',
      'rollout.completed',
    ])
    expect(trail.entries[0]?.actor).toBe('alice')
    expect(trail.verification).toMatchObject({ isValid: true, entryCount: 6 })
    const ledger = await process.service.ledger(draft.rolloutId)
    expect(ledger).toHaveLength(20)
    expect(ledger.every((entry) => entry.seq !== null && entry.withdrawnAt === null)).toBe(true)
  })

  it('halts in the canary when 3 devices fail their health check; no device outside the canary gets the release', async () => {
    const issued = createRecordingDirectiveSender()
    const process = startProcess(issued)
    await seed(process)
    const draft = await process.service.create(createInput, alice)
    const canary = draft.devices.filter((row) => row.wave === 0).map((row) => row.deviceId)
    const failing = new Set(canary.slice(0, 3))
    const script: FleetScript = { behaviourOf: (deviceId) => (failing.has(deviceId) ? 'health-fail' : 'commit') }
    await process.service.start(draft.rolloutId, alice)
    const detail = await runUntilSettled(process, issued, draft.rolloutId, script)

    expect(detail).toMatchObject({ status: 'halted', haltReasons: ['health-check-failures'] })
    expect(detail.waves[0]?.status).toBe('halted')
    expect(new Set(installsTo(issued))).toEqual(new Set(canary))
    // The 3 rolled back locally; the 2 that committed got signed-path rollbacks (halt-and-rollback).
    expect(issued.all.filter((record) => record.action === 'rollback').map((record) => record.deviceId).sort()).toEqual(canary.slice(3).sort())
    expect(detail.outcomes).toMatchObject({ 'rolled-back': 5, 'not-sent': 15, committed: 0 })
    expect(detail.devices.filter((row) => failing.has(row.deviceId)).every((row) => row.isHealthFailure && row.errorCode === 'health-check-failed')).toBe(true)
    expectOneTerminalStateEach(detail)
    const records = await process.devices.list()
    expect(records.every((record) => record.activeModel?.sha256 === OLD.sha256)).toBe(true)
  })

  it('halts on a 40% p95 regression and rolls the canary back to the previous release', async () => {
    const issued = createRecordingDirectiveSender()
    const process = startProcess(issued)
    const script = { baselineP95Ms: 10, newP95Ms: 14, baselineModelId: OLD.modelId }
    await seed(process, script)
    const draft = await process.service.create(createInput, alice)
    const canary = draft.devices.filter((row) => row.wave === 0).map((row) => row.deviceId)
    await process.service.start(draft.rolloutId, alice)
    const detail = await runUntilSettled(process, issued, draft.rolloutId, script)

    expect(detail).toMatchObject({ status: 'halted', haltReasons: ['latency-regression'] })
    expect(detail.waves[0]?.decision?.values).toMatchObject({ latencyBasis: 'same-devices', latencyDeviceCount: 5 })
    expect(detail.waves[0]?.decision?.values.latencyRatio).toBeCloseTo(1.4, 5)
    const rollbacks = issued.all.filter((record) => record.action === 'rollback')
    expect(rollbacks.map((record) => record.deviceId).sort()).toEqual([...canary].sort())
    expect(rollbacks.every((record) => record.artifactSha256 === OLD.sha256 && record.request.expectCurrent?.sha256 === NEW.sha256)).toBe(true)
    expect(detail.outcomes).toMatchObject({ 'rolled-back': 5, 'not-sent': 15 })
    expectOneTerminalStateEach(detail)
    const halted = (await process.service.auditTrail(draft.rolloutId, 100)).entries.find((entry) => entry.action === 'rollout.halted')
    expect(halted).toMatchObject({ actor: 'system', reason: expect.stringMatching(/p95 latency 1\.40x > 1\.2x \(same-devices, 5 devices\)/) })
  })

  it('marks a device failed when its rollback is refused for good, and does not retry it every tick', async () => {
    const issued = createRecordingDirectiveSender()
    const process = startProcess(issued)
    const script = { baselineP95Ms: 10, newP95Ms: 14, baselineModelId: OLD.modelId }
    await seed(process, script)
    const draft = await process.service.create(createInput, alice)
    const [refused] = draft.devices.filter((row) => row.wave === 0).map((row) => row.deviceId)
    let refusals = 0
    issued.injectFault((request) => {
      if (request.action !== 'rollback' || request.deviceId !== refused) return undefined
      refusals += 1
      return 'refuse-unknown-model'
    })
    await process.service.start(draft.rolloutId, alice)
    const detail = await runUntilSettled(process, issued, draft.rolloutId, script)
    expect(detail.status).toBe('halted')
    expect(refusals).toBe(1)
    expect(detail.devices.find((row) => row.deviceId === refused)).toMatchObject({ status: 'failed', errorCode: 'rollback-refused:not-found' })
    expect(detail.outcomes).toMatchObject({ 'rolled-back': 4, failed: 1, 'not-sent': 15 })
  })

  it.each([
    ['after a directive was issued but before its receipt was stored', 'hang-after-issue' as const],
    ['after the send was decided but before the directive was issued', 'throw-before-issue' as const],
  ])('resumes after a crash %s, with no duplicate directive', async (_name, fault) => {
    const issued = createRecordingDirectiveSender()
    const first = startProcess(issued)
    await seed(first)
    const draft = await first.service.create(createInput, alice)
    // The 8th directive overall is the 3rd of the second wave: the crash hits a wave while it goes out.
    let hasCrashed = false
    let signalCrash = () => {}
    const crash = new Promise<void>((resolve) => (signalCrash = resolve))
    issued.injectFault((_request, index) => {
      if (index !== 7) return undefined
      hasCrashed = true
      signalCrash()
      return fault
    })
    await first.service.start(draft.rolloutId, alice)
    for (let step = 0; step < 50 && !hasCrashed; step += 1) {
      await stepFleet(first.devices, issued, MODELS, clock)
      clock.advanceMs(STEP_MS)
      // A hung send never resolves its tick: wait for the crash instead, then let the rest of the batch finish.
      await Promise.race([first.service.tick(draft.rolloutId), crash])
    }
    for (let turn = 0; turn < 50; turn += 1) await new Promise((resolve) => setImmediate(resolve))
    expect(hasCrashed).toBe(true)
    // The process dies here: its pending work never finishes and its connection goes away.
    first.db.close()
    issued.injectFault(undefined)

    const second = startProcess(issued)
    const beforeRestart = await second.service.status(draft.rolloutId)
    expect(beforeRestart.statusCounts.sending).toBeGreaterThan(0)
    const detail = await runUntilSettled(second, issued, draft.rolloutId)

    expect(detail.status).toBe('completed')
    expect(detail.outcomes.committed).toBe(20)
    const installs = installsTo(issued)
    expect(installs).toHaveLength(20)
    expect(new Set(installs).size).toBe(20)
    expectOneTerminalStateEach(detail)
    const ledger = await second.service.ledger(draft.rolloutId)
    expect(ledger.filter((entry) => entry.seq !== null).map((entry) => entry.deviceId).sort()).toEqual([...deviceIds].sort())
    expect((await second.service.auditTrail(undefined, 1000)).verification).toMatchObject({ isValid: true })
  })

  it('aborts with rollback on an operator decision and keeps a full, exportable account', async () => {
    const issued = createRecordingDirectiveSender()
    const process = startProcess(issued)
    await seed(process)
    const draft = await process.service.create({ ...createInput, requireApproval: true }, alice)
    await process.service.start(draft.rolloutId, alice)
    let detail = await process.service.status(draft.rolloutId)
    for (let step = 0; step < 20 && detail.status !== 'waiting-approval'; step += 1) {
      await process.service.tick(draft.rolloutId)
      await stepFleet(process.devices, issued, MODELS, clock)
      clock.advanceMs(STEP_MS)
      detail = await process.service.status(draft.rolloutId)
    }
    expect(detail.status).toBe('waiting-approval')
    await expect(process.service.abort(draft.rolloutId, 'rollback', { actor: 'bob', reason: 'support tickets from site 4' })).resolves.toMatchObject({ status: 'aborted', abortMode: 'rollback' })
    detail = await runUntilSettled(process, issued, draft.rolloutId)
    expect(detail.outcomes).toMatchObject({ 'rolled-back': 5, 'not-sent': 15 })

    const csv = await process.service.report(draft.rolloutId, 'csv')
    const lines = csv.content.trim().split('\r\n')
    expect(lines[0]).toMatch(/^device_id,outcome,error_code,status,wave/)
    expect(lines).toHaveLength(21)
    const json = JSON.parse((await process.service.report(draft.rolloutId, 'json')).content) as { devices: Array<{ outcome: string }> }
    expect(json.devices.filter((device) => device.outcome === 'rolled-back')).toHaveLength(5)
    const aborted = (await process.service.auditTrail(draft.rolloutId, 100)).entries.find((entry) => entry.action === 'rollout.aborted')
    expect(aborted).toMatchObject({ actor: 'bob', reason: 'support tickets from site 4', details: { mode: 'rollback', rollbackCount: 5 } })
  })

  it('refuses targets that select nothing and unknown models or devices, before storing anything', async () => {
    const issued = createRecordingDirectiveSender()
    const process = startProcess(issued)
    await seed(process)
    await expect(process.service.create({ ...createInput, target: { arch: ['riscv64'] } }, alice)).rejects.toMatchObject({ code: 'invalid-input' })
    await expect(process.service.create({ ...createInput, target: { deviceIds: ['ghost'] } }, alice)).rejects.toMatchObject({ code: 'not-found' })
    await expect(process.service.create({ release: { variants: [{ modelId: 'm-000000000000' }] } }, alice)).rejects.toMatchObject({ code: 'not-found' })
    expect(await process.service.list()).toEqual([])
  })

  it('dry-runs a definition against the current fleet without sending anything', async () => {
    const issued = createRecordingDirectiveSender()
    const process = startProcess(issued)
    await seed(process)
    const result = await process.service.dryRun({
      spec: createInput,
      simulation: { syntheticDeviceCount: null, failureRate: 0, healthFailureRate: 0, onlineRatio: 1, latencyRatio: 1, installDurationMs: 60_000, timeStepMs: 60_000, seed: 3 },
    })
    expect(result).toMatchObject({ outcome: 'completed', deviceCount: 20, exposedCount: 20 })
    expect(issued.all).toEqual([])
    expect(await process.service.list()).toEqual([])
  })
})

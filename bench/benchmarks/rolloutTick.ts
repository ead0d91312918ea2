/**
 * Rollout bookkeeping (issue 6 target: planning and gate evaluation for a 10,000-device rollout in well under a
 * second per evaluation tick; report the ratio of rollout bookkeeping time to directive send time).
 *
 * - Pure core: planRollout over the fleet, and tickRollout (observe every device, evaluate the gate, decide
 *   installs) on a rollout mid-wave, each against reading the same fleet's device records from SQLite, which every
 *   tick does anyway.
 * - The real RolloutService over SQLite (openDatabase: WAL, synchronous=FULL) with the real deploy path as
 *   DirectiveSender (modelService.deploy: directive persisted with its seq, then published on a recording bus):
 *   a steady evaluation tick, and ticks that send 1,000 directives each (rate limit 1,000/min), split into the time
 *   spent in DirectiveSender.send and everything else (reads, decisions, ledger intents, receipts).
 */
import { join } from 'node:path'
import { createManualClock } from '../../src-main/adapters/clock/systemClock.ts'
import { nodeContentHasher } from '../../src-main/adapters/crypto/nodeContentHasher.ts'
import { openDatabase } from '../../src-main/adapters/sqlite/openDatabase.ts'
import { createSqliteAuditLog } from '../../src-main/adapters/sqlite/sqliteAuditLog.ts'
import { createSqliteDeviceRepository } from '../../src-main/adapters/sqlite/sqliteDeviceRepository.ts'
import { createSqliteDirectiveRepository } from '../../src-main/adapters/sqlite/sqliteDirectiveRepository.ts'
import { createSqliteModelRepository } from '../../src-main/adapters/sqlite/sqliteModelRepository.ts'
import { createSqliteLatestDirectiveLookup, createSqliteRolloutRepository } from '../../src-main/adapters/sqlite/sqliteRolloutRepository.ts'
import { createModelDeployDirectiveSender } from '../../src-main/backend/modelDeployDirectiveSender.ts'
import { aModelRecord, seedDevices } from '../../src-main/backend/testing/rolloutFleet.ts'
import { normalizeRolloutSpec } from '../../src-main/core/rollout/defaults.ts'
import { planRollout } from '../../src-main/core/rollout/planRollout.ts'
import { tickRollout } from '../../src-main/core/rollout/rolloutMachine.ts'
import type { DirectiveSender } from '../../src-main/ports/DirectiveSender.ts'
import type { ModelInspector } from '../../src-main/ports/ModelInspector.ts'
import type { ModelStore } from '../../src-main/ports/ModelStore.ts'
import { createModelService } from '../../src-main/services/modelService.ts'
import { createRolloutService, toFleetDevice, toObservation } from '../../src-main/services/rolloutService.ts'
import { BugError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { median, nowMs } from '../support/stats.ts'
import { withTempDir } from '../support/tempDir.ts'
import { type Benchmark, type BenchResult, ratioOf } from '../types.ts'

const OLD = aModelRecord('m-aaaaaaaaaaaa', 'a'.repeat(64), 'bench-model')
const NEW = aModelRecord('m-bbbbbbbbbbbb', 'b'.repeat(64), 'bench-model')
const SENDS_PER_TICK = 1000
const T0_MS = Date.UTC(2025, 2, 1)

/** Never reached: the benchmark deploys models that are already stored. */
const unusedStore: ModelStore = {
  write: async () => {
    throw new BugError('the rollout benchmark stores no model files')
  },
  readRange: async () => {
    throw new BugError('the rollout benchmark serves no chunks')
  },
  readImportFile: async () => {
    throw new BugError('the rollout benchmark imports no files')
  },
}
const unusedInspector: ModelInspector = {
  inspect: async () => {
    throw new BugError('the rollout benchmark inspects no models')
  },
}

async function timeMs(work: () => unknown): Promise<number> {
  const startedMs = nowMs()
  await work()
  return nowMs() - startedMs
}

export const benchmark: Benchmark = {
  name: 'rollout-tick',
  description: 'Rollout planning and gate evaluation at fleet scale, and rollout bookkeeping against directive sends',
  async run({ quick, log }) {
    const deviceCount = quick ? 500 : 10_000
    const repeats = quick ? 2 : 7
    const sendTicks = quick ? 1 : 3
    return withTempDir('rollout', async (dir) => {
      const db = openDatabase(join(dir, 'outpost.db'))
      try {
        const clock = createManualClock(T0_MS)
        const devices = createSqliteDeviceRepository(db)
        const models = createSqliteModelRepository(db)
        await models.insert(OLD)
        await models.insert(NEW)
        const deviceIds = Array.from({ length: deviceCount }, (_, index) => `bench-${String(index + 1).padStart(5, '0')}`)
        log(`seeding ${deviceCount} devices`)
        // One transaction for the seed: the per-device transactions nest as savepoints, so seeding costs one fsync.
        db.exec('BEGIN')
        await seedDevices(devices, deviceIds, OLD, new Date(T0_MS).toISOString())
        db.exec('COMMIT')

        // Baseline: the fleet read every tick makes.
        const readMs: number[] = []
        for (let index = 0; index < repeats; index += 1) readMs.push(await timeMs(() => devices.list()))
        const readP50 = median(readMs)

        // Pure core: plan, then one evaluation tick on a rollout with 3,000 devices in flight.
        const records = await devices.list()
        const fleet = records.map((record) => toFleetDevice(record, { tags: [], groups: [] }))
        const spec = normalizeRolloutSpec({ release: { variants: [{ modelId: NEW.modelId }] }, waves: [{ cumulativePercent: 100 }], rate: { maxPerMinute: SENDS_PER_TICK } })
        const variants = [{ ...spec.release.variants[0]!, sha256: NEW.sha256 }]
        const planMs: number[] = []
        let plan = planRollout(fleet, { variants, target: spec.target, waves: spec.waves }, new Date(T0_MS).toISOString())
        for (let index = 0; index < repeats; index += 1) {
          planMs.push(await timeMs(() => (plan = planRollout(fleet, { variants, target: spec.target, waves: spec.waves }, new Date(T0_MS).toISOString()))))
        }
        const inFlight = Math.floor(deviceCount * 0.3)
        const rows = plan.devices.map((row, index) =>
          index < inFlight ? { ...row, status: 'sent' as const, attempt: 1, seq: 1, seqBefore: 0, intentAt: new Date(T0_MS).toISOString(), sentAt: new Date(T0_MS).toISOString() } : row,
        )
        const inFlightIds = new Set(rows.slice(0, inFlight).map((row) => row.deviceId))
        const observations = new Map(records.map((record) => [record.deviceId, toObservation(record, inFlightIds.has(record.deviceId) ? 1 : null)]))
        const rollout = {
          rolloutId: 'r-000000000000',
          spec,
          status: 'running' as const,
          createdAt: new Date(T0_MS).toISOString(),
          createdBy: 'bench',
          startedAt: new Date(T0_MS).toISOString(),
          finishedAt: null,
          updatedAt: new Date(T0_MS).toISOString(),
          currentWave: 0,
          waves: plan.waves.map((wave) => ({ ...wave, status: 'active' as const, startedAt: new Date(T0_MS).toISOString() })),
          haltReasons: [],
          abortMode: null,
          revision: 1,
        }
        const tickMs: number[] = []
        for (let index = 0; index < repeats; index += 1) {
          const now = new Date(T0_MS + 60_000 * (index + 1)).toISOString()
          tickMs.push(await timeMs(() => tickRollout({ rollout, devices: rows, observations, drift: null, now })))
        }

        // The real service: sends through the deploy path, timed apart from everything else.
        const directives = createSqliteDirectiveRepository(db)
        const bus = { publish: async () => {}, subscribe: async () => {}, onMessage: () => () => {}, close: async () => {} }
        const notifier = { deviceChanged: () => {}, modelChanged: () => {} }
        const modelService = createModelService({ models, devices, directives, store: unusedStore, inspector: unusedInspector, hasher: nodeContentHasher, bus, clock, notifier, log: silentLogger })
        const deploySender = createModelDeployDirectiveSender({ deploy: (modelId, deviceIds) => modelService.deploy(modelId, deviceIds), latest: createSqliteLatestDirectiveLookup(db) })
        let sendMs = 0
        let sendCount = 0
        const timedSender: DirectiveSender = {
          async send(request) {
            const startedMs = nowMs()
            try {
              return await deploySender.send(request)
            } finally {
              sendMs += nowMs() - startedMs
              sendCount += 1
            }
          },
          latest: (ids) => deploySender.latest(ids),
        }
        const audit = createSqliteAuditLog(db, nodeContentHasher, clock)
        const service = createRolloutService({
          rollouts: createSqliteRolloutRepository(db, audit),
          audit,
          sender: timedSender,
          devices,
          models,
          clock,
          log: silentLogger,
          newRolloutId: () => 'r-0000000000be',
          // One send at a time, so the send time is exact rather than overlapping awaits.
          sendConcurrency: 1,
        })
        const actor = { actor: 'bench', reason: 'benchmark' }
        const draft = await service.create({ release: { variants: [{ modelId: NEW.modelId }] }, waves: [{ cumulativePercent: 100 }], rate: { maxPerMinute: SENDS_PER_TICK } }, actor)
        const sendingTicks: Array<{ totalMs: number; sendMs: number; sends: number }> = []
        log(`sending ${sendTicks} x ${Math.min(SENDS_PER_TICK, deviceCount)} directives`)
        for (let index = 0; index < sendTicks; index += 1) {
          // A new minute: the rate limit allows the next 1,000.
          if (index > 0) clock.advanceMs(60_000)
          sendMs = 0
          sendCount = 0
          const totalMs = await timeMs(() => (index === 0 ? service.start(draft.rolloutId, actor) : service.tick(draft.rolloutId)))
          sendingTicks.push({ totalMs, sendMs, sends: sendCount })
        }
        if (sendingTicks.some((tick) => tick.sends !== Math.min(SENDS_PER_TICK, deviceCount))) {
          throw new BugError(`expected ${SENDS_PER_TICK} sends per tick, got ${sendingTicks.map((tick) => tick.sends).join(', ')}`)
        }
        // Steady evaluation: the minute's budget is spent, nothing to send, every device observed and the gate run.
        const steadyMs: number[] = []
        for (let index = 0; index < repeats; index += 1) {
          clock.advanceMs(1000)
          steadyMs.push(await timeMs(() => service.tick(draft.rolloutId)))
        }

        const planP50 = median(planMs)
        const tickP50 = median(tickMs)
        const steadyP50 = median(steadyMs)
        const bookkeepingMs = median(sendingTicks.map((tick) => tick.totalMs - tick.sendMs))
        const directiveSendMs = median(sendingTicks.map((tick) => tick.sendMs))
        const sendsPerTick = Math.min(SENDS_PER_TICK, deviceCount)
        const perSend = (ms: number) => (ms / sendsPerTick).toFixed(3)
        const fleetRead = { value: readP50, unit: 'ms', title: `devices.list() of ${deviceCount} device records from SQLite, p50` }
        const results: BenchResult[] = [
          {
            id: 'rollout-plan',
            title: `planRollout for ${deviceCount} devices (targeting, variant check, stratified waves), p50`,
            value: planP50,
            unit: 'ms',
            baseline: fleetRead,
            ratio: ratioOf(planP50, readP50),
            absoluteTarget: { comparison: '<=', value: 1000 },
            notes: `${repeats} runs.`,
          },
          {
            id: 'rollout-gate-tick',
            title: `tickRollout on ${deviceCount} devices, ${inFlight} in flight (observe, gate, decide up to ${SENDS_PER_TICK} installs), p50`,
            value: tickP50,
            unit: 'ms',
            baseline: fleetRead,
            ratio: ratioOf(tickP50, readP50),
            absoluteTarget: { comparison: '<=', value: 1000 },
            notes: `${repeats} ticks; pure core, no I/O.`,
          },
          {
            id: 'rollout-service-tick',
            title: `RolloutService evaluation tick on ${deviceCount} devices over SQLite (reads, observations, gate, state write), p50`,
            value: steadyP50,
            unit: 'ms',
            baseline: fleetRead,
            ratio: ratioOf(steadyP50, readP50),
            absoluteTarget: { comparison: '<=', value: 1000 },
            notes: `${repeats} ticks with ${Math.min(deviceCount, sendTicks * SENDS_PER_TICK)} devices in flight and no sends due.`,
          },
          {
            id: 'rollout-bookkeeping-vs-send',
            title: `Rollout bookkeeping of a tick that sends ${sendsPerTick} directives (all but DirectiveSender.send), p50`,
            value: bookkeepingMs,
            unit: 'ms',
            baseline: { value: directiveSendMs, unit: 'ms', title: `DirectiveSender.send of the same ${sendsPerTick} directives via modelService.deploy (SQLite seq + publish), p50` },
            ratio: ratioOf(bookkeepingMs, directiveSendMs),
            notes:
              `${sendTicks} sending tick(s) over ${deviceCount} devices; per directive ${perSend(bookkeepingMs)} ms bookkeeping ` +
              `(intent and receipt each a synchronous=FULL transaction) vs ${perSend(directiveSendMs)} ms send.`,
          },
        ]
        return results
      } finally {
        db.close()
      }
    })
  },
}

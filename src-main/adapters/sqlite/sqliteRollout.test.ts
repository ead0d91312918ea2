import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { createManualClock } from '../clock/systemClock.ts'
import { nodeContentHasher } from '../crypto/nodeContentHasher.ts'
import { pendingSends } from '../../core/rollout/rolloutMachine.ts'
import { aSpec } from '../../core/rollout/testing/builders.ts'
import { createRolloutDriver } from '../../core/rollout/testing/rolloutDriver.ts'
import { openDatabase, type SqliteDatabase } from './openDatabase.ts'
import { createSqliteAuditLog } from './sqliteAuditLog.ts'
import { createSqliteRolloutRepository } from './sqliteRolloutRepository.ts'

let dir: string
let db: SqliteDatabase | undefined

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-rollouts-'))
})
afterEach(() => {
  db?.close()
  db = undefined
  rmSync(dir, { recursive: true, force: true })
})

function open() {
  db = openDatabase(join(dir, 'outpost.db'))
  const clock = createManualClock(Date.parse('2025-03-01T00:00:00.000Z'))
  const audit = createSqliteAuditLog(db, nodeContentHasher, clock)
  return { db, audit, rollouts: createSqliteRolloutRepository(db, audit), clock }
}

/** A rollout started and ticked once: 5 canary rows in 'sending'. */
function aStartedRollout() {
  const driver = createRolloutDriver(aSpec())
  const draft = { rollout: driver.rollout, devices: driver.rows, effects: [...driver.effects] }
  const started = driver.start()
  const ticked = driver.tick()
  return { driver, draft, started, ticked }
}

const auditOf = (effects: ReadonlyArray<{ type: string; entry?: unknown }>) =>
  effects.flatMap((effect) => (effect.type === 'record-audit' && effect.entry ? [effect.entry as never] : []))

describe('sqliteRolloutRepository', () => {
  it('stores a rollout, its rows, ledger intents and audit entries together, and reads them back', async () => {
    const { rollouts, audit } = open()
    const { draft, started, ticked } = aStartedRollout()
    await rollouts.save({ rollout: draft.rollout, devices: draft.devices, replaceDevices: true, audit: auditOf(draft.effects), expectedRevision: null })
    await rollouts.save({ rollout: started.rollout, devices: started.devices, replaceDevices: true, audit: auditOf(started.effects), expectedRevision: draft.rollout.revision })
    const changed = new Set(ticked.changedDeviceIds)
    await rollouts.save({ rollout: ticked.rollout, devices: ticked.devices.filter((row) => changed.has(row.deviceId)), audit: auditOf(ticked.effects), expectedRevision: started.rollout.revision })

    expect(await rollouts.get(ticked.rollout.rolloutId)).toEqual(ticked.rollout)
    expect(await rollouts.devices(ticked.rollout.rolloutId)).toEqual(ticked.devices)
    expect((await rollouts.listUnsettled('2025-01-01T00:00:00.000Z')).map((rollout) => rollout.rolloutId)).toEqual([ticked.rollout.rolloutId])
    expect((await rollouts.deviceCounts()).get(ticked.rollout.rolloutId)).toBe(20)
    const ledger = await rollouts.ledger(ticked.rollout.rolloutId)
    expect(ledger).toHaveLength(5)
    expect(ledger.every((entry) => entry.action === 'install' && entry.seq === null && entry.attempt === 1)).toBe(true)
    expect((await audit.list({ subject: ticked.rollout.rolloutId })).map((entry) => entry.action)).toEqual(['rollout.created', 'rollout.started'])
    expect(await audit.verify()).toMatchObject({ isValid: true, entryCount: 2 })
  })

  it('refuses a write based on a stale revision and writes nothing of it', async () => {
    const { rollouts, audit } = open()
    const { draft, started } = aStartedRollout()
    await rollouts.save({ rollout: draft.rollout, devices: draft.devices, audit: [], expectedRevision: null })
    const error = await rollouts.save({ rollout: started.rollout, devices: started.devices, audit: auditOf(started.effects), expectedRevision: 7 }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('conflict')
    expect((await rollouts.get(draft.rollout.rolloutId))?.status).toBe('draft')
    expect(await audit.list()).toEqual([])
    await expect(rollouts.save({ rollout: draft.rollout, devices: [], audit: [], expectedRevision: null })).rejects.toThrow(/already exists/)
  })

  it('records receipts once per attempt and withdraws unsent intents', async () => {
    const { rollouts } = open()
    const { draft, ticked } = aStartedRollout()
    await rollouts.save({ rollout: draft.rollout, devices: draft.devices, audit: [], expectedRevision: null })
    await rollouts.save({ rollout: ticked.rollout, devices: ticked.devices, audit: [], expectedRevision: draft.rollout.revision })
    const [first, second] = pendingSends(ticked.rollout, ticked.devices).sends
    if (!first || !second) throw new Error('expected sends')
    expect(await rollouts.recordSends([{ request: first, seq: 41 }], '2025-03-01T00:00:01.000Z')).toMatchObject([{ status: 'sent', seq: 41 }])
    // A late duplicate receipt for the same attempt changes nothing; a withdrawal returns the row to planned.
    expect(await rollouts.recordSends([{ request: first, seq: 42 }, { request: second, seq: null }], '2025-03-01T00:00:02.000Z')).toMatchObject([
      { status: 'sent', seq: 41 },
      { status: 'planned', attempt: 0 },
    ])
    const ledger = await rollouts.ledger(ticked.rollout.rolloutId)
    expect(ledger.find((entry) => entry.deviceId === first.deviceId)).toMatchObject({ seq: 41, sentAt: '2025-03-01T00:00:01.000Z', withdrawnAt: null })
    expect(ledger.find((entry) => entry.deviceId === second.deviceId)).toMatchObject({ seq: null, withdrawnAt: '2025-03-01T00:00:02.000Z' })
  })

  it('runs with synchronous=FULL', () => {
    const { db: database } = open()
    expect(database.pragma('synchronous', { simple: true })).toBe(2)
  })
})

describe('sqliteAuditLog', () => {
  it('chains appended entries and verifies them', async () => {
    const { audit, clock } = open()
    const first = await audit.append({ actor: 'alice', action: 'rollout.paused', subject: 'r-1', reason: 'lunch', details: {} })
    clock.advanceMs(1000)
    const second = await audit.append({ actor: 'bob', action: 'rollout.resumed', subject: 'r-1', reason: '', details: { wave: 2 } })
    expect(second.prevHash).toBe(first.hash)
    expect(second.at).toBe('2025-03-01T00:00:01.000Z')
    expect(await audit.verify({ seq: 2, hash: second.hash })).toMatchObject({ isValid: true, entryCount: 2 })
    expect((await audit.list({ limit: 1 })).map((entry) => entry.seq)).toEqual([2])
  })

  it('refuses UPDATE and DELETE in the database itself', async () => {
    const { audit, db: database } = open()
    await audit.append({ actor: 'alice', action: 'rollout.paused', subject: 'r-1', reason: 'lunch', details: {} })
    expect(() => database.prepare("UPDATE audit_log SET reason = 'nothing'").run()).toThrow(/append-only/)
    expect(() => database.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/)
  })

  it('detects an edit and a deletion made by someone who dropped the triggers', async () => {
    const { audit } = open()
    for (const reason of ['one', 'two', 'three']) await audit.append({ actor: 'alice', action: 'rollout.paused', subject: 'r-1', reason, details: {} })
    const file = join(dir, 'outpost.db')
    const raw = new Database(file)
    raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete')
    raw.prepare("UPDATE audit_log SET reason = 'edited' WHERE seq = 2").run()
    expect(await audit.verify()).toMatchObject({ isValid: false, problem: 'hash-mismatch', seq: 2 })
    raw.prepare("UPDATE audit_log SET reason = 'two' WHERE seq = 2").run()
    expect(await audit.verify()).toMatchObject({ isValid: true })
    raw.prepare('DELETE FROM audit_log WHERE seq = 2').run()
    raw.close()
    expect(await audit.verify()).toMatchObject({ isValid: false, problem: 'sequence-gap', seq: 3 })
  })
})

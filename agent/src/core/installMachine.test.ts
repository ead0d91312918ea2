import { describe, expect, it } from 'vitest'
import {
  type InstallDirective,
  type InstallEvent,
  type InstallPhase,
  type InstallRecord,
  MAX_TRANSITIONS,
  type RestartFacts,
  acceptInstall,
  isSettled,
  recoverInstall,
  stepInstall,
  wireState,
} from './installMachine.ts'

const SHA = 'a'.repeat(64)
const OLD_SHA = 'b'.repeat(64)

function aDirective(overrides: Partial<InstallDirective> = {}): InstallDirective {
  return {
    v: 1,
    deviceId: 'd-1',
    seq: 7,
    issuedAt: '2026-01-01T00:00:00.000Z',
    action: 'install',
    artifact: {
      modelId: 'm-0123456789ab',
      name: 'tiny',
      version: '2',
      format: 'onnx',
      sha256: SHA,
      sizeBytes: 10,
      chunkSizeBytes: 10,
      chunkCount: 1,
      chunkListSha256: 'c'.repeat(64),
    },
    ...overrides,
  }
}

function aRecord(state: InstallPhase, overrides: Partial<InstallRecord> = {}): InstallRecord {
  return { directive: aDirective(), state, targetSlot: 'b', trialCount: 0, transitions: 3, errorCode: null, message: null, ...overrides }
}

const done: InstallEvent = { type: 'done' }
const failed: InstallEvent = { type: 'failed', code: 'soak-failed', message: 'x' }
const report = (state: string, progress = 0) => ({ type: 'report', state, progress })
const markBad = { type: 'mark-bad', sha256: SHA }
const discard = { type: 'discard-staging', sha256: SHA }

describe('stepInstall', () => {
  it.each<[InstallPhase, InstallEvent, InstallPhase, unknown[]]>([
    ['accepted', done, 'downloading', [report('downloading')]],
    ['downloading', done, 'verified', [report('verified', 1)]],
    ['verified', done, 'staged', [report('staged', 1)]],
    ['staged', done, 'switching', [report('switching', 1)]],
    ['switching', done, 'trial', [report('trial')]],
    ['trial', done, 'committing', []],
    ['committing', done, 'committed', [report('committed', 1)]],
    ['rolling-back', done, 'rolled-back', [report('rolled-back')]],
    ['rolled-back', done, 'failure-reported', []],
    ['failure-reported', done, 'cleanup', []],
    ['cleanup', done, 'idle', [discard]],
    ['accepted', failed, 'failed', [report('failed')]],
    ['downloading', { type: 'failed', code: 'artifact-corrupt', message: 'x' }, 'failed', [report('failed'), discard]],
    ['staged', failed, 'failed', [report('failed')]],
    ['switching', failed, 'rolling-back', [report('rolling-back'), markBad]],
    ['trial', failed, 'rolling-back', [report('rolling-back'), markBad]],
    ['committing', failed, 'rolling-back', [report('rolling-back'), markBad]],
    ['rolling-back', failed, 'rolled-back', [report('rolled-back')]],
    ['downloading', { type: 'superseded' }, 'failed', []],
    ['trial', { type: 'superseded' }, 'rolling-back', [report('rolling-back')]],
    ['cleanup', { type: 'superseded' }, 'cleanup', []],
    ['committed', failed, 'committed', []],
    ['failed', done, 'failed', []],
    ['idle', done, 'idle', []],
  ])('%s + %j → %s', (state, event, expected, effects) => {
    const before = aRecord(state, state === 'rolling-back' ? { errorCode: 'golden-mismatch', message: 'm' } : {})
    const { record, effects: actual } = stepInstall(before, event)
    expect(record.state).toBe(expected)
    expect(actual).toEqual(effects)
    if (expected !== state) expect(record.transitions).toBe(before.transitions + 1)
  })

  it('starts the trial count at 1 and keeps the first failure reason through the failure path', () => {
    expect(stepInstall(aRecord('switching'), done).record.trialCount).toBe(1)
    let record = stepInstall(aRecord('trial'), { type: 'failed', code: 'golden-mismatch', message: 'outputs differ' }).record
    for (let i = 0; i < 4; i++) record = stepInstall(record, i === 0 ? { type: 'failed', code: 'other', message: 'y' } : done).record
    expect(record).toMatchObject({ state: 'idle', errorCode: 'golden-mismatch', message: 'outputs differ' })
    expect(wireState(record)).toBe('rolled-back')
  })

  it('forces a forward install onto the failure path past the transition limit', () => {
    const { record, effects } = stepInstall(aRecord('downloading', { transitions: MAX_TRANSITIONS }), done)
    expect(record).toMatchObject({ state: 'rolling-back', errorCode: 'state-loop' })
    expect(effects).toContainEqual(markBad)
    expect(stepInstall(aRecord('rolling-back', { transitions: MAX_TRANSITIONS + 5 }), done).record.state).toBe('rolled-back')
  })
})

describe('recoverInstall (anchors-security.md §10.8 restart table)', () => {
  const facts: RestartFacts = { activeSlot: 'a', committedSha256: OLD_SHA }
  it.each<[string, InstallRecord, RestartFacts, Partial<InstallRecord>]>([
    ['accepted resumes', aRecord('accepted'), facts, { state: 'accepted', transitions: 4 }],
    ['downloading resumes', aRecord('downloading'), facts, { state: 'downloading', transitions: 4 }],
    ['verified re-verifies', aRecord('verified'), facts, { state: 'verified' }],
    ['staged re-verifies', aRecord('staged'), facts, { state: 'staged' }],
    ['switching redoes the switch when the pointer names the old slot', aRecord('switching'), facts, { state: 'switching' }],
    ['switching enters trial when the pointer names the new slot', aRecord('switching'), { ...facts, activeSlot: 'b' }, { state: 'trial', trialCount: 1 }],
    ['trial counts the attempt', aRecord('trial', { trialCount: 1 }), facts, { state: 'trial', trialCount: 2 }],
    ['trial 3 is the last attempt', aRecord('trial', { trialCount: 2 }), facts, { state: 'trial', trialCount: 3 }],
    ['trial beyond the limit rolls back', aRecord('trial', { trialCount: 3 }), facts, { state: 'rolling-back', trialCount: 4, errorCode: 'trial-limit' }],
    ['committing without a commit record rolls back', aRecord('committing'), facts, { state: 'rolling-back', errorCode: 'commit-interrupted' }],
    ['committing with the commit record finishes', aRecord('committing'), { ...facts, committedSha256: SHA }, { state: 'committed' }],
    ['rolling-back reruns', aRecord('rolling-back', { errorCode: 'x' }), facts, { state: 'rolling-back', errorCode: 'x' }],
    ['rolled-back reruns', aRecord('rolled-back'), facts, { state: 'rolled-back' }],
    ['failure-reported reruns', aRecord('failure-reported'), facts, { state: 'failure-reported' }],
    ['cleanup reruns', aRecord('cleanup'), facts, { state: 'cleanup' }],
    ['committed is settled', aRecord('committed'), facts, { state: 'committed', transitions: 3 }],
    ['failed is settled', aRecord('failed'), facts, { state: 'failed', transitions: 3 }],
    ['a restart loop forces a rollback', aRecord('staged', { transitions: MAX_TRANSITIONS }), facts, { state: 'rolling-back', errorCode: 'state-loop' }],
  ])('%s', (_name, record, restartFacts, expected) => {
    expect(recoverInstall(record, restartFacts).record).toMatchObject(expected)
  })

  it('reports the recovered trial and marks the release bad when it gives up', () => {
    expect(recoverInstall(aRecord('trial', { trialCount: 1 }), facts).effects).toEqual([report('trial')])
    expect(recoverInstall(aRecord('trial', { trialCount: 3 }), facts).effects).toEqual([report('rolling-back'), markBad])
  })

  it('ends a crash loop (a kill at every start) on the failure path by transition 28', () => {
    let record = aRecord('downloading', { transitions: 1 })
    let restarts = 0
    while (!['rolling-back', 'rolled-back'].includes(record.state) && restarts < 100) {
      record = recoverInstall(record, facts).record
      restarts += 1
    }
    expect(record).toMatchObject({ state: 'rolling-back', errorCode: 'state-loop' })
    expect(record.transitions).toBe(MAX_TRANSITIONS + 1)
  })
})

describe('acceptInstall', () => {
  it('targets the slot not holding the committed model, slot a on a fresh device', () => {
    expect(acceptInstall(aDirective(), { committed: { sha256: OLD_SHA, slot: 'a' }, badReleases: [] })).toEqual({
      record: { directive: aDirective(), state: 'accepted', targetSlot: 'b', trialCount: 0, transitions: 1, errorCode: null, message: null },
      effects: [report('accepted')],
    })
    expect(acceptInstall(aDirective(), { committed: { sha256: OLD_SHA, slot: 'b' }, badReleases: [] }).record.targetSlot).toBe('a')
    expect(acceptInstall(aDirective(), { committed: null, badReleases: [] }).record.targetSlot).toBe('a')
  })

  it('commits at once when the artifact is already the committed model', () => {
    const { record, effects } = acceptInstall(aDirective(), { committed: { sha256: SHA, slot: 'b' }, badReleases: [] })
    expect(record).toMatchObject({ state: 'committed', targetSlot: 'b' })
    expect(effects).toEqual([report('committed', 1)])
  })

  it('refuses a release marked bad unless the directive says retry', () => {
    const refused = acceptInstall(aDirective(), { committed: null, badReleases: [SHA] })
    expect(refused.record).toMatchObject({ state: 'failed', errorCode: 'release-marked-bad' })
    expect(refused.effects).toEqual([report('failed')])
    const retried = acceptInstall(aDirective({ retry: true }), { committed: null, badReleases: [SHA] })
    expect(retried.record.state).toBe('accepted')
    expect(retried.effects).toEqual([{ type: 'clear-bad', sha256: SHA }, report('accepted')])
  })
})

describe('wireState and isSettled', () => {
  it.each<[InstallPhase, string, boolean]>([
    ['accepted', 'accepted', false],
    ['trial', 'trial', false],
    ['committing', 'trial', false],
    ['committed', 'committed', true],
    ['rolling-back', 'rolling-back', false],
    ['failure-reported', 'rolled-back', false],
    ['cleanup', 'rolled-back', false],
    ['idle', 'rolled-back', true],
    ['failed', 'failed', true],
  ])('%s reads as %s (settled: %s)', (state, wire, settled) => {
    expect(wireState(aRecord(state))).toBe(wire)
    expect(isSettled(state)).toBe(settled)
  })

  it('reads as idle without a record', () => {
    expect(wireState(null)).toBe('idle')
  })
})

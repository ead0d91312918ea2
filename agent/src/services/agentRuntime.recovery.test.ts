/**
 * Crash recovery per persisted state (anchors-security.md §10.8 table, §11.2): each case writes the data dir a crash
 * in that state leaves behind (old model A committed in slot a, new model B on its way to slot b), starts a real
 * agent on it and checks where it converges.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InstallPhase, InstallRecord } from '../core/installMachine.ts'
import type { ActivePointer } from '../ports/agentStore.ts'
import { ControlCenterHarness, type TestBroker, buildArtifact, buildVariantModel, readFixtureModel, startTestBroker } from '../testSupport/controlCenterHarness.ts'
import { createTestAgent, eventually, makeTempDir } from '../testSupport/testAgent.ts'

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const modelA = readFixtureModel()
const modelB = buildVariantModel(5)
const shaA = sha256(modelA)
const shaB = sha256(modelB)
const artifactB = buildArtifact(modelB, { chunkSizeBytes: 4096, version: '2.0.0' })

const pointerA: ActivePointer = {
  slot: 'a',
  model: { modelId: 'm-0123456789aa', name: 'tiny-classifier', version: '1.0.0', sha256: shaA },
  sizeBytes: modelA.byteLength,
  activatedAt: '2026-01-01T00:00:00.000Z',
}
const pointerB: ActivePointer = {
  slot: 'b',
  model: { modelId: artifactB.ref.modelId, name: artifactB.ref.name, version: artifactB.ref.version, sha256: shaB },
  sizeBytes: modelB.byteLength,
  activatedAt: '2026-01-01T00:01:00.000Z',
}

interface Crash {
  state: InstallPhase
  trialCount?: number
  transitions?: number
  errorCode?: string
  activeSlot: 'a' | 'b'
  /** Where B's bytes are when the crash happens. */
  bytesOfB?: 'staging' | 'damaged-staging' | 'slot'
  isCommitRecordB?: boolean
}

interface Outcome {
  phase: InstallPhase
  report: string
  errorCode?: string
  served: string
  fetchesChunks?: boolean
  /** The restart itself decided to roll back, so it marks B bad (otherwise that happened before the crash). */
  isMarkedBad?: boolean
}

async function writeCrashedDataDir(dataDir: string, deviceId: string, crash: Crash): Promise<void> {
  for (const folder of ['slots/a', 'slots/b', 'staging']) await mkdir(join(dataDir, folder), { recursive: true })
  await writeFile(join(dataDir, 'slots/a/model.onnx'), modelA)
  if (crash.bytesOfB === 'slot') await writeFile(join(dataDir, 'slots/b/model.onnx'), modelB)
  if (crash.bytesOfB === 'staging') await writeFile(join(dataDir, 'staging', `${shaB}.part`), modelB)
  if (crash.bytesOfB === 'damaged-staging') await writeFile(join(dataDir, 'staging', `${shaB}.part`), Uint8Array.from(modelB, (byte, i) => (i === 100 ? byte ^ 1 : byte)))
  await writeFile(join(dataDir, 'committed.json'), JSON.stringify(crash.isCommitRecordB === true ? pointerB : pointerA))
  await writeFile(join(dataDir, 'active.json'), JSON.stringify(crash.activeSlot === 'b' ? pointerB : pointerA))
  const install: InstallRecord = {
    directive: { v: 1, deviceId, seq: 2, issuedAt: '2026-01-01T00:00:00.000Z', action: 'install', artifact: artifactB.ref },
    state: crash.state,
    targetSlot: 'b',
    trialCount: crash.trialCount ?? 0,
    transitions: crash.transitions ?? 5,
    errorCode: crash.errorCode ?? null,
    message: crash.errorCode === undefined ? null : 'before the crash',
  }
  await writeFile(join(dataDir, 'state.json'), JSON.stringify({ lastDirectiveSeq: 2, reportSeq: 0, install, badReleases: [] }))
}

const committedB: Outcome = { phase: 'committed', report: 'committed', served: shaB }
const rolledBack = (errorCode: string): Outcome => ({ phase: 'idle', report: 'rolled-back', errorCode, served: shaA, fetchesChunks: false })

describe.concurrent('restart after a crash in each persisted install state', () => {
  let broker: TestBroker
  let harness: ControlCenterHarness
  const cleanups: Array<() => Promise<void>> = []

  beforeAll(async () => {
    broker = await startTestBroker()
    harness = new ControlCenterHarness(broker)
    await harness.start()
    harness.serve(artifactB)
  })

  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    await broker.close()
  })

  it.each<[string, Crash, Outcome]>([
    ['accepted: downloads and installs', { state: 'accepted', activeSlot: 'a' }, { ...committedB, fetchesChunks: true }],
    ['downloading: resumes the download', { state: 'downloading', activeSlot: 'a' }, { ...committedB, fetchesChunks: true }],
    ['verified: re-hashes the staged file and promotes it', { state: 'verified', activeSlot: 'a', bytesOfB: 'staging' }, { ...committedB, fetchesChunks: false }],
    [
      'verified with a damaged staging file: fails without switching',
      { state: 'verified', activeSlot: 'a', bytesOfB: 'damaged-staging' },
      { phase: 'failed', report: 'failed', errorCode: 'artifact-corrupt', served: shaA, fetchesChunks: false },
    ],
    ['staged: re-verifies the slot', { state: 'staged', activeSlot: 'a', bytesOfB: 'slot' }, { ...committedB, fetchesChunks: false }],
    ['switching before the pointer moved: switches again', { state: 'switching', activeSlot: 'a', bytesOfB: 'slot' }, committedB],
    ['switching after the pointer moved: goes on trial', { state: 'switching', activeSlot: 'b', bytesOfB: 'slot' }, committedB],
    ['trial 1: counts the attempt and reruns the health check', { state: 'trial', trialCount: 1, activeSlot: 'b', bytesOfB: 'slot' }, committedB],
    ['trial 3: gives up', { state: 'trial', trialCount: 3, activeSlot: 'b', bytesOfB: 'slot' }, { ...rolledBack('trial-limit'), isMarkedBad: true }],
    ['committing without the commit record: rolls back', { state: 'committing', activeSlot: 'b', bytesOfB: 'slot' }, { ...rolledBack('commit-interrupted'), isMarkedBad: true }],
    ['committing with the commit record: finishes', { state: 'committing', activeSlot: 'b', bytesOfB: 'slot', isCommitRecordB: true }, committedB],
    ['rolling-back: reruns the rollback', { state: 'rolling-back', errorCode: 'soak-failed', activeSlot: 'b', bytesOfB: 'slot' }, rolledBack('soak-failed')],
    ['failure-reported: cleans up', { state: 'failure-reported', errorCode: 'golden-mismatch', activeSlot: 'a', bytesOfB: 'slot' }, rolledBack('golden-mismatch')],
    ['cleanup: removes staging files', { state: 'cleanup', errorCode: 'golden-mismatch', activeSlot: 'a', bytesOfB: 'staging' }, rolledBack('golden-mismatch')],
    ['a restart loop: forced onto the failure path', { state: 'staged', transitions: 28, activeSlot: 'a', bytesOfB: 'slot' }, { ...rolledBack('state-loop'), isMarkedBad: true }],
  ])('%s', async (name, crash, outcome) => {
    const deviceId = `r-${name.split(':')[0]?.replace(/[^a-z0-9]+/g, '-')}-${crash.trialCount ?? 0}-${crash.isCommitRecordB === true ? 'c' : 'n'}-${crash.activeSlot}`
    const dataDir = await makeTempDir('outpost-recovery-')
    cleanups.push(dataDir.remove)
    await writeCrashedDataDir(dataDir.path, deviceId, crash)
    const agent = await createTestAgent({ brokerUrl: broker.url, deviceId, dataDir: dataDir.path, soakMs: 50 })
    cleanups.push(() => agent.close())
    await agent.start()

    const report = await harness.waitForReport(deviceId, outcome.report, 2, 15_000)
    expect(report.body.errorCode).toBe(outcome.errorCode ?? null)
    await eventually(() => agent.snapshot().installPhase === outcome.phase, 10_000, `phase ${outcome.phase}`)
    const snapshot = agent.snapshot()
    expect(snapshot.active?.sha256).toBe(outcome.served)
    const active = JSON.parse(await readFile(join(dataDir.path, 'active.json'), 'utf8')) as ActivePointer
    const committed = JSON.parse(await readFile(join(dataDir.path, 'committed.json'), 'utf8')) as ActivePointer
    expect(active.model.sha256).toBe(outcome.served)
    // The last committed model is never touched: a rollback serves it from slot a again.
    expect(committed.model.sha256).toBe(outcome.served)
    expect(sha256(await readFile(join(dataDir.path, 'slots/a/model.onnx')))).toBe(shaA)
    if (outcome.fetchesChunks !== undefined) expect(harness.from(deviceId, 'req').length > 0).toBe(outcome.fetchesChunks)
    expect(snapshot.badReleases).toEqual(outcome.isMarkedBad === true ? [shaB] : [])
    if (outcome.phase !== 'committed') expect(await readdir(join(dataDir.path, 'staging'))).toEqual([])
    if (crash.state === 'trial' && outcome.phase === 'committed') expect(snapshot.trialCount).toBe(2)
    if (crash.isCommitRecordB === true) expect(harness.from(deviceId, 'report').some((message) => message.body.state === 'trial')).toBe(false)
  })
})

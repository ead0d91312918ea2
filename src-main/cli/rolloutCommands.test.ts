import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RolloutDetail } from '../../src-shared/domain/rollout.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { createManualClock } from '../adapters/clock/systemClock.ts'
import { nodeContentHasher } from '../adapters/crypto/nodeContentHasher.ts'
import { openDatabase, type SqliteDatabase } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteAuditLog } from '../adapters/sqlite/sqliteAuditLog.ts'
import { createSqliteDeviceRepository } from '../adapters/sqlite/sqliteDeviceRepository.ts'
import { createSqliteModelRepository } from '../adapters/sqlite/sqliteModelRepository.ts'
import { createSqliteRolloutRepository } from '../adapters/sqlite/sqliteRolloutRepository.ts'
import { createRolloutHandlers } from '../backend/rolloutHandlers.ts'
import { aModelRecord, createRecordingDirectiveSender, seedDevices, stepFleet } from '../backend/testing/rolloutFleet.ts'
import { startHeadlessServer, type HeadlessServer } from '../headless/startHeadlessServer.ts'
import { createTestBackend } from '../headless/testBackend.ts'
import { createRolloutService, type RolloutService } from '../services/rolloutService.ts'
import type { CliContext } from './cliContext.ts'
import { parseDuration, parseVariant, parseWaves, parseWindow } from './rolloutCommands.ts'
import { runCli } from './runCli.ts'

const OLD = aModelRecord('m-aaaaaaaaaaaa', 'a'.repeat(64))
const NEW = aModelRecord('m-bbbbbbbbbbbb', 'b'.repeat(64))

let workDir: string
let db: SqliteDatabase
let server: HeadlessServer
let service: RolloutService
const clock = createManualClock(Date.parse('2025-03-01T00:00:00.000Z'))
const issued = createRecordingDirectiveSender()
let devices: ReturnType<typeof createSqliteDeviceRepository>

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'outpost-rollout-cli-'))
  db = openDatabase(path.join(workDir, 'outpost.db'))
  devices = createSqliteDeviceRepository(db)
  const models = createSqliteModelRepository(db)
  await models.insert(OLD)
  await models.insert(NEW)
  await seedDevices(devices, Array.from({ length: 8 }, (_, index) => `cli-${index + 1}`), OLD, new Date(clock.nowMs()).toISOString())
  const audit = createSqliteAuditLog(db, nodeContentHasher, clock)
  let nextId = 0
  service = createRolloutService({
    rollouts: createSqliteRolloutRepository(db, audit),
    audit,
    sender: issued.sender,
    devices,
    models,
    clock,
    log: silentLogger,
    newRolloutId: () => `r-${String(++nextId).padStart(12, '0')}`,
  })
  const testBackend = createTestBackend()
  const backend = { ...testBackend, handlers: { ...testBackend.handlers, ...createRolloutHandlers(service) } }
  server = await startHeadlessServer({ backend, log: silentLogger, port: 0, rendererDir: workDir })
})

afterAll(async () => {
  await server.close()
  db.close()
  rmSync(workDir, { recursive: true, force: true })
})

async function run(argv: string[]) {
  const stdout: string[] = []
  const stderr: string[] = []
  const context: CliContext = {
    env: { OUTPOST_URL: server.uiUrl, OUTPOST_ACTOR: 'carol' },
    cwd: workDir,
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    shutdownSignal: new AbortController().signal,
  }
  const exitCode = await runCli(argv, context)
  return { exitCode, stdout: stdout.join('\n'), stderr: stderr.join('\n') }
}

describe('outpost rollout', () => {
  it('prints the usage of every subcommand', async () => {
    for (const sub of ['create', 'start', 'pause', 'resume', 'approve', 'retry', 'abort', 'rollback', 'status', 'dry-run', 'report', 'audit']) {
      const result = await run(['rollout', sub, '--help'])
      expect(result.exitCode, sub).toBe(0)
      expect(result.stdout, sub).toMatch(/^Usage: outpost rollout/)
    }
    expect((await run(['rollout', '--help'])).stdout).toMatch(/rollout dry-run/)
  })

  it('creates, starts, pauses, resumes and aborts a rollout, each audited with who and why', async () => {
    const created = await run(['rollout', 'create', '--model', NEW.modelId, '--soak', '1m', '--name', 'cli test', '--reason', 'new classifier', '--json'])
    expect(created.exitCode, created.stderr).toBe(0)
    const draft = JSON.parse(created.stdout) as RolloutDetail
    expect(draft).toMatchObject({ status: 'draft', deviceCount: 8, createdBy: expect.stringMatching(/^carol via /) })

    const listed = await run(['rollout', 'status'])
    expect(listed.stdout).toMatch(new RegExp(`${draft.rolloutId}\\s+cli test\\s+draft`))

    const started = await run(['rollout', 'start', draft.rolloutId])
    expect(started.exitCode, started.stderr).toBe(0)
    expect(started.stdout).toMatch(/status\s+running/)
    expect(started.stdout).toMatch(/WAVE\s+DEVICES\s+STATUS\s+GATE/)
    expect(issued.all).toHaveLength(5)

    expect((await run(['rollout', 'pause', draft.rolloutId, '--reason', 'lunch'])).stdout).toMatch(/status\s+paused/)
    expect((await run(['rollout', 'resume', draft.rolloutId])).stdout).toMatch(/status\s+running/)
    await stepFleet(devices, issued, new Map([[NEW.modelId, NEW]]), clock)
    await service.tick(draft.rolloutId)

    const noReason = await run(['rollout', 'abort', draft.rolloutId])
    expect(noReason.exitCode).toBe(2)
    expect(noReason.stderr).toMatch(/needs --reason/)
    const aborted = await run(['rollout', 'abort', draft.rolloutId, '--rollback', '--reason', 'wrong build', '--json'])
    expect(JSON.parse(aborted.stdout)).toMatchObject({ status: 'aborted', abortMode: 'rollback' })
    expect(issued.all.filter((record) => record.action === 'rollback')).toHaveLength(5)

    const audit = await run(['rollout', 'audit', draft.rolloutId])
    expect(audit.exitCode).toBe(0)
    expect(audit.stdout).toMatch(/carol via \S+\s+rollout\.aborted\s+\S+\s+wrong build/)
    expect(audit.stdout).toMatch(/chain intact/)

    const csvFile = path.join(workDir, 'report.csv')
    const written = await run(['rollout', 'report', draft.rolloutId, '--out', csvFile])
    expect(written.stdout).toMatch(/Wrote the CSV report/)
    expect(readFileSync(csvFile, 'utf8').split('\r\n')[0]).toMatch(/^device_id,outcome,error_code/)
    const json = await run(['rollout', 'report', draft.rolloutId, '--format', 'json'])
    expect((JSON.parse(json.stdout) as { devices: unknown[] }).devices).toHaveLength(8)
  })

  it('dry-runs a rollout on a synthetic fleet', async () => {
    const result = await run(['rollout', 'dry-run', '--model', NEW.modelId, '--synthetic', '300', '--failure-rate', '0.2', '--seed', '4'])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/outcome\s+halted \(install-failures\)/)
    expect(result.stdout).toMatch(/exposed\s+\d+ device\(s\) got the release before the halt/)
  })

  it('rejects bad command lines with exit code 2', async () => {
    for (const argv of [
      ['rollout', 'create'],
      ['rollout', 'create', '--model', 'not-a-model'],
      ['rollout', 'create', '--model', NEW.modelId, '--waves', '10,5x'],
      ['rollout', 'start'],
      ['rollout', 'start', 'r-1'],
      ['rollout', 'rollback', 'r-000000000001'],
      ['rollout', 'report', 'r-000000000001', '--format', 'xml'],
    ]) {
      const result = await run(argv)
      expect(result.exitCode, argv.join(' ')).toBe(2)
      expect(result.stderr, argv.join(' ')).toMatch(/^outpost: error \[invalid-input\]/)
    }
    const missing = await run(['rollout', 'status', 'r-0000000000ff'])
    expect(missing.exitCode).toBe(1)
    expect(missing.stderr).toMatch(/\[not-found\] No rollout r-0000000000ff/)
  })
})

describe('rollout flag parsing', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['250', 250],
  ])('duration %s', (text, expected) => {
    expect(parseDuration(text, 'soak')).toBe(expected)
  })

  it('reads variants with requirements', () => {
    expect(parseVariant('fp16=m-cccccccccccc,ep=cuda,arch=x64,min-memory-mb=2048,accel=/dev/nvidia')).toEqual({
      name: 'fp16',
      modelId: 'm-cccccccccccc',
      requirements: { executionProviders: ['cuda'], arch: ['x64'], accelerators: ['/dev/nvidia'], minMemoryBytes: 2048 * 1024 * 1024 },
    })
    expect(() => parseVariant('fp16=m-cccccccccccc,gpu=yes')).toThrow(/unknown requirement 'gpu'/)
  })

  it('reads waves and maintenance windows', () => {
    expect(parseWaves('1:5,10,100')).toEqual([{ cumulativePercent: 1, minDevices: 5 }, { cumulativePercent: 10 }, { cumulativePercent: 100 }])
    expect(parseWindow('22:00-04:30@1,2')).toEqual({ startMinuteUtc: 1320, endMinuteUtc: 270, daysUtc: [1, 2] })
    expect(() => parseWindow('25:00-26:00')).toThrow(/not a time of day/)
  })
})

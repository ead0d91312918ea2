import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DriftHeatmap } from '../../src-shared/domain/drift.ts'
import { openDatabase } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteTelemetryRepository } from '../adapters/sqlite/sqliteTelemetryRepository.ts'
import { createSqliteTelemetryStore } from '../adapters/sqlite/sqliteTelemetryStore.ts'
import { featureName, makeReference, makeWindow, MODEL_SHA256, seededRandom } from '../adapters/sqlite/testing/driftFixtures.ts'
import { insertDevices } from '../adapters/sqlite/testing/telemetryTestDatabase.ts'
import type { CliContext } from './cliContext.ts'
import { parseInstantOrAgo } from './driftCommands.ts'
import { runCli } from './runCli.ts'

let dataDir: string
const reference = makeReference(5, 10)
// Windows sit in the last hour before the test runs, so the default range (last 24 h) covers them.
const startMs = Date.now() - 60 * 60_000

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'outpost-drift-cli-'))
  const db = openDatabase(path.join(dataDir, 'outpost.db'))
  insertDevices(db, [
    { deviceId: 'cam-1', tags: ['north'] },
    { deviceId: 'cam-2', tags: ['south'] },
  ])
  const store = createSqliteTelemetryStore(db, { nowIso: () => new Date().toISOString() })
  await store.driftStore.registerReference(MODEL_SHA256, reference, 'tiny@1', new Date().toISOString())
  const repository = createSqliteTelemetryRepository(db, { maxDelayMs: 1 })
  const random = seededRandom(3)
  for (let seq = 1; seq <= 4; seq++) {
    for (const deviceId of ['cam-1', 'cam-2']) {
      const shifts = deviceId === 'cam-1' ? { [featureName(0)]: 2, [featureName(1)]: 2, [featureName(2)]: 2 } : {}
      const window = makeWindow(reference, { deviceId, reportSeq: seq, startMs: startMs + seq * 60_000, samples: 100, shifts }, random)
      await repository.insert(window, window.windowEndAt)
    }
    // The last windows stay above the rollup watermark: the report must read them raw.
    if (seq === 3) store.rollups.runPass()
  }
  await repository.close()
  db.close()
})
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

async function run(argv: string[]) {
  const stdout: string[] = []
  const stderr: string[] = []
  const context: CliContext = {
    env: {},
    cwd: dataDir,
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    shutdownSignal: new AbortController().signal,
  }
  const code = await runCli(argv, context)
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') }
}

describe('outpost drift report', () => {
  it('prints per-device verdicts read straight from the database, including windows not rolled up yet', async () => {
    const { code, stdout } = await run(['drift', 'report', '--release', 'tiny@1', '--data-dir', dataDir, '--json'])
    expect(code).toBe(0)
    const report = JSON.parse(stdout) as DriftHeatmap
    expect(report.rows.map((row) => [row.key, row.verdict, row.cells[0]?.sampleCount])).toEqual([
      ['cam-1', 'drift', 400],
      ['cam-2', 'stable', 400],
    ])
  })

  it('groups by cohort (tags) and prints a table for people', async () => {
    const { code, stdout } = await run(['drift', 'report', '--release', MODEL_SHA256.slice(0, 12), '--by', 'cohort', '--since', '2h', '--data-dir', dataDir])
    expect(code).toBe(0)
    expect(stdout).toContain('Release tiny@1')
    expect(stdout).toContain('2 cohorts by tag: 1 drifting')
    expect(stdout).toMatch(/^north\s+1\s+400\s+60%\s+drift\s/m)
    expect(stdout).toMatch(/^south\s+1\s+400\s+0%\s+stable\s/m)
  })

  it('explains what it needs', async () => {
    expect((await run(['drift', 'report', '--data-dir', dataDir])).code).toBe(2)
    const unknown = await run(['drift', 'report', '--release', 'other@9', '--data-dir', dataDir])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('[not-found]')
    const noDatabase = await run(['drift', 'report', '--release', 'tiny@1', '--data-dir', path.join(dataDir, 'nothing-here')])
    expect(noDatabase.stderr).toContain('No Outpost database')
    expect((await run(['drift', 'report', '--release', 'tiny@1', '--since', 'yesterday', '--data-dir', dataDir])).stderr).toContain('--since takes')
  })

  it('reads --since as an ISO time or a duration back from now', () => {
    const nowMs = Date.UTC(2025, 5, 1, 12)
    expect(parseInstantOrAgo('6h', 'since', nowMs)).toBe(nowMs - 6 * 3_600_000)
    expect(parseInstantOrAgo('2025-06-01T00:00:00Z', 'since', nowMs)).toBe(Date.UTC(2025, 5, 1))
  })
})

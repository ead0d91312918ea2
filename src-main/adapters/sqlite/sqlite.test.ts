import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { emptyLatencyCounts } from '../../../src-shared/protocol/latencyHistogram.ts'
import type { Directive, TelemetryWindow } from '../../../src-shared/protocol/messages.ts'
import { applyEnrollment, applySync, newDeviceRecord } from '../../core/fleet/deviceRecord.ts'
import type { ModelRecord } from '../../ports/ModelRepository.ts'
import { migrations } from './migrations.ts'
import { applyMigrations, openDatabase, openDatabaseReadOnly, type SqliteDatabase } from './openDatabase.ts'
import { createSqliteDeviceRepository } from './sqliteDeviceRepository.ts'
import { createSqliteDirectiveRepository } from './sqliteDirectiveRepository.ts'
import { createSqliteModelRepository } from './sqliteModelRepository.ts'
import { createSqliteTelemetryRepository } from './sqliteTelemetryRepository.ts'
import { createSqliteTelemetryStore } from './sqliteTelemetryStore.ts'

const at = '2025-01-01T00:00:00.000Z'
let dir: string
let db: SqliteDatabase | undefined

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-sqlite-'))
})
afterEach(() => {
  db?.close()
  db = undefined
  rmSync(dir, { recursive: true, force: true })
})

function aModel(overrides: Partial<ModelRecord> = {}): ModelRecord {
  return {
    modelId: 'm-aaaaaaaaaaaa', name: 'tiny', version: '1', format: 'onnx', sha256: 'a'.repeat(64), sizeBytes: 10,
    importedAt: at, inputs: [{ name: 'x', elementType: 'float32', shape: ['batch', 16] }], outputs: [],
    sourceFileName: 'tiny.onnx', chunkSizeBytes: 4, chunkCount: 3, chunkListJson: '{}', chunkListSha256: 'b'.repeat(64),
    ...overrides,
  }
}

function anInstall(deviceId: string, seq: number, model = aModel()): Directive {
  return {
    v: 1, deviceId, seq, issuedAt: at, action: 'install',
    artifact: {
      modelId: model.modelId, name: model.name, version: model.version, format: 'onnx', sha256: model.sha256,
      sizeBytes: model.sizeBytes, chunkSizeBytes: model.chunkSizeBytes, chunkCount: model.chunkCount, chunkListSha256: model.chunkListSha256,
    },
  }
}

describe('openDatabase', () => {
  it('creates the schema once, in WAL mode with full sync', () => {
    const file = join(dir, 'outpost.db')
    db = openDatabase(file)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('synchronous', { simple: true })).toBe(2)
    expect(db.prepare('SELECT id FROM schema_migrations').pluck().all()).toEqual(migrations.map((m) => m.id))
    db.close()
    db = openDatabase(file)
    expect(applyMigrations(db, migrations)).toEqual([])
  })

  it('applies only pending migrations, and none of a failing batch', () => {
    db = openDatabase(join(dir, 'outpost.db'))
    const extra = [...migrations, { id: '9001-add-table', sql: 'CREATE TABLE extra (x INTEGER) STRICT' }]
    expect(applyMigrations(db, extra)).toEqual(['9001-add-table'])
    const broken = [...extra, { id: '9002-good', sql: 'CREATE TABLE good (x INTEGER)' }, { id: '9003-bad', sql: 'CREATE TABLE (' }]
    expect(() => applyMigrations(db!, broken)).toThrow()
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'good'").pluck().get()).toBe(0)
  })

  it('refuses a file that is not a database, without modifying it', () => {
    const file = join(dir, 'outpost.db')
    const garbage = Buffer.from('this is not a sqlite database, just some text '.repeat(200))
    writeFileSync(file, garbage)
    const error = catchError(() => openDatabase(file))
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('database-corrupt')
    expect((error as AppError).message).toContain(file)
    expect((error as AppError).message).toMatch(/move it aside/)
    expect(readFileSync(file).equals(garbage)).toBe(true)
  })

  it('refuses a database whose pages are damaged, without modifying it', () => {
    const file = join(dir, 'outpost.db')
    const seed = new Database(file)
    seed.exec('CREATE TABLE t (x TEXT); CREATE INDEX t_x ON t (x);')
    const insert = seed.prepare('INSERT INTO t VALUES (?)')
    seed.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`row-${i}-${'x'.repeat(50)}`)
    })()
    seed.close()
    const bytes = readFileSync(file)
    const pageSize = bytes.readUInt16BE(16)
    // Overwrite the third page (a b-tree page of the table or index) with noise; the header stays valid.
    bytes.fill(0x5a, pageSize * 2 + 8, pageSize * 3)
    writeFileSync(file, bytes)
    const error = catchError(() => openDatabase(file))
    expect((error as AppError).code).toBe('database-corrupt')
    expect(readFileSync(file).equals(bytes)).toBe(true)
  })

  it('reports a directory it cannot create a database in', () => {
    writeFileSync(join(dir, 'file'), 'x')
    const error = catchError(() => openDatabase(join(dir, 'file', 'outpost.db')))
    expect((error as AppError).code).toBe('data-dir-unwritable')
  })

  it('opens read-only while a writer holds the database, and names a missing file', async () => {
    const file = join(dir, 'outpost.db')
    db = openDatabase(file)
    await createSqliteDeviceRepository(db).update('d-1', () => newDeviceRecord('d-1'))
    const reader = openDatabaseReadOnly(file)
    expect(await createSqliteDeviceRepository(reader).list()).toHaveLength(1)
    expect(() => reader.exec('DELETE FROM devices')).toThrow()
    reader.close()
    expect((catchError(() => openDatabaseReadOnly(join(dir, 'none.db'))) as AppError).code).toBe('not-found')
  })
})

describe('sqlite repositories', () => {
  beforeEach(() => {
    db = openDatabase(join(dir, 'outpost.db'))
  })

  it('round-trips a device record and keeps desiredModelId derived from directives', async () => {
    const devices = createSqliteDeviceRepository(db!)
    const directives = createSqliteDirectiveRepository(db!)
    const models = createSqliteModelRepository(db!)
    await devices.update('d-2', (record) => applyEnrollment(record, 'd-2', 'scrypt$hash', at))
    const synced = await devices.update('d-2', (record) =>
      applySync(record!, {
        v: 1, deviceId: 'd-2', agentVersion: '0.1.0',
        hardware: { arch: 'x64', platform: 'linux', osRelease: '6', hostname: 'h', cpuModel: 'c', cpuCount: 2, memoryBytes: 8, accelerators: ['/dev/dri/renderD128'] },
        executionProviders: [{ name: 'cpu', isAvailable: true }, { name: 'cuda', isAvailable: false, reason: 'no libcuda' }],
        lastDirectiveSeq: 0, active: null, executionProvider: 'cpu', installState: 'idle', at,
      }, at),
    )
    expect(synced).toMatchObject({ deviceId: 'd-2', passwordHash: 'scrypt$hash', isOnline: true, desiredModelId: null })
    expect(synced!.hardware!.accelerators).toEqual(['/dev/dri/renderD128'])
    expect(synced!.executionProviders[1]).toEqual({ name: 'cuda', isAvailable: false, reason: 'no libcuda' })

    await models.insert(aModel())
    await directives.issueNext('d-2', (seq) => anInstall('d-2', seq))
    expect((await devices.get('d-2'))!.desiredModelId).toBe('m-aaaaaaaaaaaa')
    await devices.update('d-2', (record) => ({ ...record!, desiredModelId: null }))
    expect((await devices.get('d-2'))!.desiredModelId).toBe('m-aaaaaaaaaaaa')

    await devices.update('d-1', () => newDeviceRecord('d-1'))
    expect((await devices.list()).map((d) => d.deviceId)).toEqual(['d-1', 'd-2'])
    await devices.markAllOffline()
    expect((await devices.get('d-2'))!.isOnline).toBe(false)
    expect(await devices.update('d-9', () => undefined)).toBeUndefined()
    expect(await devices.get('d-9')).toBeUndefined()
  })

  it('numbers directives monotonically per device, above what the device reported', async () => {
    const devices = createSqliteDeviceRepository(db!)
    const directives = createSqliteDirectiveRepository(db!)
    const models = createSqliteModelRepository(db!)
    await models.insert(aModel())
    await devices.update('d-1', () => newDeviceRecord('d-1'))
    await devices.update('d-2', () => ({ ...newDeviceRecord('d-2'), reportedDirectiveSeq: 41 }))
    const seqs = []
    for (let i = 0; i < 3; i++) seqs.push((await directives.issueNext('d-1', (seq) => anInstall('d-1', seq))).seq)
    expect(seqs).toEqual([1, 2, 3])
    expect((await directives.issueNext('d-2', (seq) => anInstall('d-2', seq))).seq).toBe(42)
    expect((await directives.latest('d-1'))!.seq).toBe(3)
    expect(await directives.latest('d-3')).toBeUndefined()
    expect(await directives.hasIssuedArtifact('d-1', 'a'.repeat(64))).toBe(true)
    expect(await directives.hasIssuedArtifact('d-1', 'c'.repeat(64))).toBe(false)
    await expect(directives.issueNext('d-1', (seq) => anInstall('d-1', seq + 1))).rejects.toThrow(/another seq/)
    expect((await directives.latest('d-1'))!.seq).toBe(3)
  })

  it('stores models and refuses a second copy of the same bytes', async () => {
    const models = createSqliteModelRepository(db!)
    await models.insert(aModel())
    await models.insert(aModel({ modelId: 'm-bbbbbbbbbbbb', sha256: 'b'.repeat(64), importedAt: '2025-01-02T00:00:00.000Z' }))
    expect((await models.list()).map((m) => m.modelId)).toEqual(['m-aaaaaaaaaaaa', 'm-bbbbbbbbbbbb'])
    expect((await models.getBySha256('b'.repeat(64)))!.modelId).toBe('m-bbbbbbbbbbbb')
    expect((await models.get('m-aaaaaaaaaaaa'))!.inputs[0]!.shape).toEqual(['batch', 16])
    expect(await models.countByName('tiny')).toBe(2)
    await expect(models.insert(aModel({ modelId: 'm-cccccccccccc' }))).rejects.toMatchObject({ code: 'conflict' })
  })

  it('stores a telemetry window once per (device, reportSeq) and prunes old ones', async () => {
    const telemetry = createSqliteTelemetryRepository(db!)
    const window: TelemetryWindow = {
      v: 1, deviceId: 'd-1', reportSeq: 7, windowStartAt: at, windowEndAt: at, modelSha256: null, executionProvider: 'cpu',
      requestCount: 3, errorCount: 0, latencyCounts: emptyLatencyCounts(), rssBytes: 100,
    }
    expect(await telemetry.insert(window, at)).toBe(true)
    expect(await telemetry.insert(window, at)).toBe(false)
    expect(await telemetry.insert({ ...window, deviceId: 'd-2' }, '2025-02-01T00:00:00.000Z')).toBe(true)
    expect(db!.prepare('SELECT count(*) FROM telemetry_windows').pluck().get()).toBe(2)
    // Only windows the rollups consumed may be pruned.
    expect(await telemetry.pruneReceivedBefore('2025-01-15T00:00:00.000Z')).toBe(0)
    createSqliteTelemetryStore(db!, { nowIso: () => at }).rollups.runPass()
    expect(await telemetry.pruneReceivedBefore('2025-01-15T00:00:00.000Z')).toBe(1)
    expect(db!.prepare('SELECT device_id FROM telemetry_windows').pluck().all()).toEqual(['d-2'])
  })
})

function catchError(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

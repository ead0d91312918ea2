import { AppError } from '../../../src-shared/errors.ts'
import type { ReleaseRecord, ReleaseRepository } from '../../ports/ReleaseRepository.ts'
import type { SqliteDatabase } from './openDatabase.ts'

interface ReleaseRow {
  release_id: string
  model_id: string
  release_counter: number
  version: string
  issued_at: string
  expires_at: string
  imported_at: string
  updated_at: string
  envelope_json: string
  manifest_json: string
}

export function createSqliteReleaseRepository(db: SqliteDatabase): ReleaseRepository {
  const insert = db.prepare<ReleaseRow>(`
    INSERT INTO releases (release_id, model_id, release_counter, version, issued_at, expires_at, imported_at, updated_at,
      envelope_json, manifest_json)
    VALUES (@release_id, @model_id, @release_counter, @version, @issued_at, @expires_at, @imported_at, @updated_at,
      @envelope_json, @manifest_json)`)
  const updateEnvelope = db.prepare<[string, string, string]>('UPDATE releases SET envelope_json = ?, updated_at = ? WHERE release_id = ?')
  const selectById = db.prepare<[string], ReleaseRow>('SELECT * FROM releases WHERE release_id = ?')
  const selectByCounter = db.prepare<[string, number], ReleaseRow>('SELECT * FROM releases WHERE model_id = ? AND release_counter = ?')
  const selectAll = db.prepare<[], ReleaseRow>('SELECT * FROM releases ORDER BY model_id, release_counter DESC')

  return {
    async insert(release) {
      try {
        insert.run(toRow(release))
      } catch (error) {
        if (error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_CONSTRAINT')) {
          throw new AppError('conflict', `Release ${release.modelId} #${release.releaseCounter} already exists with another manifest`, {
            modelId: release.modelId,
            releaseCounter: release.releaseCounter,
          })
        }
        throw error
      }
    },
    async updateEnvelope(releaseId, envelopeJson, updatedAt) {
      updateEnvelope.run(envelopeJson, updatedAt, releaseId)
    },
    async get(releaseId) {
      const row = selectById.get(releaseId)
      return row && fromRow(row)
    },
    async getByCounter(modelId, releaseCounter) {
      const row = selectByCounter.get(modelId, releaseCounter)
      return row && fromRow(row)
    },
    async list() {
      return selectAll.all().map(fromRow)
    },
  }
}

function toRow(release: ReleaseRecord): ReleaseRow {
  return {
    release_id: release.releaseId,
    model_id: release.modelId,
    release_counter: release.releaseCounter,
    version: release.version,
    issued_at: release.issuedAt,
    expires_at: release.expiresAt,
    imported_at: release.importedAt,
    updated_at: release.updatedAt,
    envelope_json: release.envelopeJson,
    manifest_json: release.manifestJson,
  }
}

function fromRow(row: ReleaseRow): ReleaseRecord {
  return {
    releaseId: row.release_id,
    modelId: row.model_id,
    releaseCounter: row.release_counter,
    version: row.version,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    importedAt: row.imported_at,
    updatedAt: row.updated_at,
    envelopeJson: row.envelope_json,
    manifestJson: row.manifest_json,
  }
}

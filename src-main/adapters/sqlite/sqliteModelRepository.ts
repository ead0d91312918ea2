import type { ModelFormat, TensorInfo } from '../../../src-shared/domain/model.ts'
import { AppError } from '../../../src-shared/errors.ts'
import type { ModelRecord, ModelRepository } from '../../ports/ModelRepository.ts'
import type { SqliteDatabase } from './openDatabase.ts'

interface ModelRow {
  model_id: string
  name: string
  version: string
  format: string
  sha256: string
  size_bytes: number
  imported_at: string
  inputs_json: string
  outputs_json: string
  source_file_name: string
  chunk_size_bytes: number
  chunk_count: number
  chunk_list_json: string
  chunk_list_sha256: string
}

export function createSqliteModelRepository(db: SqliteDatabase): ModelRepository {
  const insert = db.prepare<ModelRow>(`
    INSERT INTO models (model_id, name, version, format, sha256, size_bytes, imported_at, inputs_json, outputs_json,
      source_file_name, chunk_size_bytes, chunk_count, chunk_list_json, chunk_list_sha256)
    VALUES (@model_id, @name, @version, @format, @sha256, @size_bytes, @imported_at, @inputs_json, @outputs_json,
      @source_file_name, @chunk_size_bytes, @chunk_count, @chunk_list_json, @chunk_list_sha256)`)
  const selectAll = db.prepare<[], ModelRow>('SELECT * FROM models ORDER BY imported_at, model_id')
  const selectById = db.prepare<[string], ModelRow>('SELECT * FROM models WHERE model_id = ?')
  const selectBySha256 = db.prepare<[string], ModelRow>('SELECT * FROM models WHERE sha256 = ?')
  const countByName = db.prepare<[string], { count: number }>('SELECT count(*) AS count FROM models WHERE name = ?')

  return {
    async insert(model) {
      try {
        insert.run(toRow(model))
      } catch (error) {
        if (error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_CONSTRAINT')) {
          throw new AppError('conflict', `A model with id ${model.modelId} or sha256 ${model.sha256} already exists`, {
            modelId: model.modelId,
          })
        }
        throw error
      }
    },
    async list() {
      return selectAll.all().map(fromRow)
    },
    async get(modelId) {
      const row = selectById.get(modelId)
      return row && fromRow(row)
    },
    async getBySha256(sha256) {
      const row = selectBySha256.get(sha256)
      return row && fromRow(row)
    },
    async countByName(name) {
      return countByName.get(name)?.count ?? 0
    },
  }
}

function fromRow(row: ModelRow): ModelRecord {
  return {
    modelId: row.model_id,
    name: row.name,
    version: row.version,
    format: row.format as ModelFormat,
    sha256: row.sha256,
    sizeBytes: row.size_bytes,
    importedAt: row.imported_at,
    inputs: JSON.parse(row.inputs_json) as TensorInfo[],
    outputs: JSON.parse(row.outputs_json) as TensorInfo[],
    sourceFileName: row.source_file_name,
    chunkSizeBytes: row.chunk_size_bytes,
    chunkCount: row.chunk_count,
    chunkListJson: row.chunk_list_json,
    chunkListSha256: row.chunk_list_sha256,
  }
}

function toRow(model: ModelRecord): ModelRow {
  return {
    model_id: model.modelId,
    name: model.name,
    version: model.version,
    format: model.format,
    sha256: model.sha256,
    size_bytes: model.sizeBytes,
    imported_at: model.importedAt,
    inputs_json: JSON.stringify(model.inputs),
    outputs_json: JSON.stringify(model.outputs),
    source_file_name: model.sourceFileName,
    chunk_size_bytes: model.chunkSizeBytes,
    chunk_count: model.chunkCount,
    chunk_list_json: model.chunkListJson,
    chunk_list_sha256: model.chunkListSha256,
  }
}

import type { ModelSummary } from '../../src-shared/domain/model.ts'

/** A stored model: the summary plus the delivery facts computed once at import. */
export interface ModelRecord extends ModelSummary {
  chunkSizeBytes: number
  chunkCount: number
  /** The chunk list's canonical JSON text; devices receive exactly these bytes and check them against chunkListSha256. */
  chunkListJson: string
  chunkListSha256: string
}

/** Imported models. Async, like every port. */
export interface ModelRepository {
  /** Stores a new model. Throws AppError 'conflict' when its id or sha256 already exists. */
  insert(model: ModelRecord): Promise<void>
  /** Every model, oldest import first. */
  list(): Promise<ModelRecord[]>
  get(modelId: string): Promise<ModelRecord | undefined>
  getBySha256(sha256: string): Promise<ModelRecord | undefined>
  /** How many models carry this display name (to number versions). */
  countByName(name: string): Promise<number>
}

/** Imported signed releases, keyed by the SHA-256 of their manifest payload (what directives pin). */
export interface ReleaseRecord {
  releaseId: string
  modelId: string
  releaseCounter: number
  version: string
  issuedAt: string
  expiresAt: string
  importedAt: string
  updatedAt: string
  /** release.json as stored, with every signature collected so far. */
  envelopeJson: string
  /** The manifest payload's UTF-8 text (the signed bytes). */
  manifestJson: string
}

export interface ReleaseRepository {
  /** Throws AppError 'conflict' when another manifest already has this model id and release counter. */
  insert(release: ReleaseRecord): Promise<void>
  /** Replaces the stored envelope (more signatures on the same payload). */
  updateEnvelope(releaseId: string, envelopeJson: string, updatedAt: string): Promise<void>
  get(releaseId: string): Promise<ReleaseRecord | undefined>
  getByCounter(modelId: string, releaseCounter: number): Promise<ReleaseRecord | undefined>
  /** Newest first: by model id, then release counter descending. */
  list(): Promise<ReleaseRecord[]>
}

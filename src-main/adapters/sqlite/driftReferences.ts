/** The drift reference registered for each model (its signed bins), and the flat layout derived from it. */
import { DriftReference } from '../../../src-shared/domain/drift.ts'
import { createDriftLayout, type DriftLayout } from '../../core/drift/driftLayout.ts'
import type { SqliteDatabase } from './openDatabase.ts'

export interface StoredReference {
  modelSha256: string
  binsSha256: string
  label: string
  reference: DriftReference
  registeredAt: string
}

interface ReferenceRow {
  model_sha256: string
  bins_sha256: string
  label: string
  reference_json: string
  registered_at: string
}

function fromRow(row: ReferenceRow): StoredReference {
  return {
    modelSha256: row.model_sha256,
    binsSha256: row.bins_sha256,
    label: row.label,
    // Validated when registered; parsing again keeps a hand-edited database from reaching the math unchecked.
    reference: DriftReference.parse(JSON.parse(row.reference_json)),
    registeredAt: row.registered_at,
  }
}

export function readReference(db: SqliteDatabase, modelSha256: string): StoredReference | undefined {
  const row = db.prepare<[string], ReferenceRow>('SELECT * FROM drift_references WHERE model_sha256 = ?').get(modelSha256)
  return row && fromRow(row)
}

export function readAllReferences(db: SqliteDatabase): StoredReference[] {
  return db.prepare<[], ReferenceRow>('SELECT * FROM drift_references ORDER BY registered_at DESC, model_sha256').all().map(fromRow)
}

/** Caches layouts per model for one connection; `forget` after a reference changes. */
export function createLayoutCache(db: SqliteDatabase) {
  const cache = new Map<string, DriftLayout | null>()
  return {
    layoutFor(modelSha256: string): DriftLayout | null {
      let layout = cache.get(modelSha256)
      if (layout === undefined) {
        const stored = readReference(db, modelSha256)
        layout = stored ? createDriftLayout(stored.reference, stored.binsSha256) : null
        cache.set(modelSha256, layout)
      }
      return layout
    },
    forget(modelSha256?: string): void {
      if (modelSha256 === undefined) cache.clear()
      else cache.delete(modelSha256)
    },
  }
}
export type LayoutCache = ReturnType<typeof createLayoutCache>

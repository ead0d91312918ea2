import { assert } from '../../../src-shared/errors.ts'
import type { Directive } from '../../../src-shared/protocol/messages.ts'
import { nextDirectiveSeq } from '../../core/fleet/deviceRecord.ts'
import type { DirectiveRepository } from '../../ports/DirectiveRepository.ts'
import type { SqliteDatabase } from './openDatabase.ts'

interface DirectiveRow {
  device_id: string
  seq: number
  action: string
  model_id: string | null
  artifact_sha256: string | null
  issued_at: string
  directive_json: string
}

export function createSqliteDirectiveRepository(db: SqliteDatabase): DirectiveRepository {
  const selectSeqs = db.prepare<[string, string], { stored: number; reported: number | null }>(`
    SELECT coalesce((SELECT max(seq) FROM directives WHERE device_id = ?), 0) AS stored,
           (SELECT reported_directive_seq FROM devices WHERE device_id = ?) AS reported`)
  const insert = db.prepare<DirectiveRow>(`
    INSERT INTO directives (device_id, seq, action, model_id, artifact_sha256, issued_at, directive_json)
    VALUES (@device_id, @seq, @action, @model_id, @artifact_sha256, @issued_at, @directive_json)`)
  const selectLatest = db.prepare<[string], { directive_json: string }>(
    'SELECT directive_json FROM directives WHERE device_id = ? ORDER BY seq DESC LIMIT 1',
  )
  const selectArtifact = db.prepare<[string, string], { found: number }>(
    'SELECT 1 AS found FROM directives WHERE device_id = ? AND artifact_sha256 = ? LIMIT 1',
  )

  const issueNext = db.transaction((deviceId: string, build: (seq: number) => Directive): Directive => {
    const seqs = selectSeqs.get(deviceId, deviceId)
    assert(seqs && seqs.reported !== null, `Directive for unknown device ${deviceId}`)
    const seq = nextDirectiveSeq(seqs.stored, seqs.reported)
    const directive = build(seq)
    assert(directive.seq === seq && directive.deviceId === deviceId, 'Directive built with another seq or device')
    insert.run({
      device_id: deviceId,
      seq,
      action: directive.action,
      model_id: directive.action === 'install' ? directive.artifact.modelId : null,
      artifact_sha256: directive.action === 'install' ? directive.artifact.sha256 : null,
      issued_at: directive.issuedAt,
      directive_json: JSON.stringify(directive),
    })
    return directive
  })

  return {
    async issueNext(deviceId, build) {
      return issueNext(deviceId, build)
    },
    async latest(deviceId) {
      const row = selectLatest.get(deviceId)
      return row && (JSON.parse(row.directive_json) as Directive)
    },
    async hasIssuedArtifact(deviceId, sha256) {
      return selectArtifact.get(deviceId, sha256) !== undefined
    },
  }
}

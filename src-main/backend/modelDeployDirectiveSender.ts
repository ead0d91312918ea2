/**
 * The DirectiveSender the control center uses today: rollout directives travel the existing deploy path
 * (modelService.deploy: next seq persisted in the directives table, then published on the device's desired topic,
 * picked up on the next sync when the device is offline). Protocol v1 directives are unsigned and have no rollback
 * verb, so a rollback is an install of the artifact the device ran before, and the rollout id, stage and
 * expect_current are not carried to the device.
 *
 * Replace it with a sender over the releases service's signDirective (DirectiveMetadata of
 * src-shared/trust/metadata.ts: action install|rollback, seq, rollout {id, stage}, expect_current) once the agent
 * verifies signed directives; the rollout service does not change.
 */
import { assert } from '../../src-shared/errors.ts'
import type { DirectiveSender, IssuedDirective } from '../ports/DirectiveSender.ts'

export interface ModelDeployDirectiveSenderOptions {
  /** modelService.deploy. */
  deploy(modelId: string, deviceIds: readonly string[]): Promise<{ directives: Array<{ deviceId: string; seq: number }> }>
  /** Each device's newest directive (adapters/sqlite createSqliteLatestDirectiveLookup). */
  latest(deviceIds: readonly string[]): Map<string, IssuedDirective>
}

export function createModelDeployDirectiveSender(options: ModelDeployDirectiveSenderOptions): DirectiveSender {
  return {
    async send(request) {
      const { directives } = await options.deploy(request.artifact.modelId, [request.deviceId])
      const issued = directives.find((directive) => directive.deviceId === request.deviceId)
      assert(issued !== undefined, `deploy issued no directive for ${request.deviceId}`)
      return { seq: issued.seq, action: 'install', artifactSha256: request.artifact.sha256 }
    },
    async latest(deviceIds) {
      return options.latest(deviceIds)
    },
  }
}

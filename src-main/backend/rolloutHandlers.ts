/** The rollouts part of the handler table: contract method -> RolloutService call, one line each. */
import type { OutpostMethods } from '../../src-shared/contract/index.ts'
import type { rolloutsMethods } from '../../src-shared/contract/rolloutsContract.ts'
import type { SimulationInput } from '../../src-shared/domain/rollout.ts'
import type { CallContext, Handlers } from '../../src-shared/rpc/types.ts'
import type { RolloutService } from '../services/rolloutService.ts'

export type RolloutHandlers = Pick<Handlers<OutpostMethods>, keyof typeof rolloutsMethods>

/** Dry-run defaults (documented on 'rollouts.dryRun'). */
export const DEFAULT_SIMULATION: SimulationInput = {
  syntheticDeviceCount: null,
  failureRate: 0,
  healthFailureRate: 0,
  onlineRatio: 1,
  latencyRatio: 1,
  installDurationMs: 5 * 60_000,
  timeStepMs: 60_000,
  seed: 1,
}

/**
 * The audit log's "who": the name the client declared and the connection it came over. The token is shared, so
 * the name is the operator's word; the connection id ties actions of one window or CLI call together.
 */
export function actorOf(input: { actor?: string | undefined }, context: CallContext): string {
  return `${input.actor ?? 'operator'} via ${context.connectionId}`
}

export function createRolloutHandlers(rollouts: RolloutService): RolloutHandlers {
  const who = (input: { actor?: string | undefined; reason?: string | undefined }, context: CallContext) => ({
    actor: actorOf(input, context),
    reason: input.reason ?? '',
  })
  return {
    'rollouts.create': async ({ actor, reason, ...spec }, context) => rollouts.create(spec, who({ actor, reason }, context)),
    'rollouts.start': async (input, context) => rollouts.start(input.rolloutId, who(input, context)),
    'rollouts.pause': async (input, context) => rollouts.pause(input.rolloutId, who(input, context)),
    'rollouts.resume': async (input, context) => rollouts.resume(input.rolloutId, who(input, context)),
    'rollouts.approve': async (input, context) => rollouts.approve(input.rolloutId, who(input, context)),
    'rollouts.abort': async (input, context) => rollouts.abort(input.rolloutId, input.mode, who(input, context)),
    'rollouts.rollback': async (input, context) => rollouts.rollback(input.rolloutId, input.scope, who(input, context)),
    'rollouts.retry': async (input, context) => rollouts.retry(input.rolloutId, who(input, context)),
    'rollouts.status': async ({ rolloutId }) => rollouts.status(rolloutId),
    'rollouts.list': async () => rollouts.list(),
    'rollouts.dryRun': async ({ rolloutId, spec, simulation }) =>
      rollouts.dryRun({ rolloutId, spec, simulation: { ...DEFAULT_SIMULATION, ...definedOnly(simulation ?? {}) } }),
    'rollouts.report': async ({ rolloutId, format }) => rollouts.report(rolloutId, format),
    'rollouts.audit': async ({ rolloutId, limit }) => rollouts.auditTrail(rolloutId, limit ?? 1000),
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>
}

import { z } from 'zod'
import { Instant } from '../domain/ids.ts'
import { DryRunResult, RolloutDetail, RolloutId, RolloutSpecInput, RolloutSummary, SimulationInput } from '../domain/rollout.ts'
import type { EventTable, MethodTable } from '../rpc/types.ts'

/**
 * Staged rollouts (issue 6). Every action is audited: `actor` names the operator as the client knows them (the
 * control center adds the connection), `reason` says why. Abort and rollback need a reason.
 */
const actor = z.string().min(1).max(100).optional()
const reason = z.string().max(500).optional()
const requiredReason = z.string().trim().min(1, 'say why (it goes into the audit log)').max(500)
const RolloutAction = z.object({ rolloutId: RolloutId, actor, reason })

export const AuditLogEntry = z.object({
  seq: z.number().int().positive(),
  at: Instant,
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  reason: z.string(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
})
export type AuditLogEntry = z.infer<typeof AuditLogEntry>

export const AuditChainVerification = z.union([
  z.object({ isValid: z.literal(true), entryCount: z.number().int(), head: z.object({ seq: z.number().int(), hash: z.string() }).nullable() }),
  z.object({
    isValid: z.literal(false),
    entryCount: z.number().int(),
    problem: z.enum(['sequence-gap', 'broken-link', 'hash-mismatch', 'head-mismatch']),
    seq: z.number().int(),
    message: z.string(),
  }),
])
export type AuditChainVerification = z.infer<typeof AuditChainVerification>

export const RolloutReportFile = z.object({
  rolloutId: RolloutId,
  format: z.enum(['json', 'csv']),
  fileName: z.string(),
  content: z.string(),
})
export type RolloutReportFile = z.infer<typeof RolloutReportFile>

export const rolloutsMethods = {
  /**
   * Plans a rollout against the fleet as it is now and keeps it as a draft (nothing is sent). Defaults: waves
   * canary max(5, 1%) → 10% → 50% → 100%, 30 min soak, install failures >= 5% after >= 20 executed, p95 > 1.2x,
   * halt and roll back the breached wave. Throws `not-found` (model, device), `invalid-input` (empty target, waves).
   */
  'rollouts.create': { input: RolloutSpecInput.extend({ actor, reason }), output: RolloutDetail },
  /** Re-plans against the current fleet and starts the first wave. Throws `not-found`, `conflict`. */
  'rollouts.start': { input: RolloutAction, output: RolloutDetail },
  /** Stops sending new installs; gates keep watching. Throws `conflict` unless running or waiting for approval. */
  'rollouts.pause': { input: RolloutAction, output: RolloutDetail },
  'rollouts.resume': { input: RolloutAction, output: RolloutDetail },
  /** Lets the next wave start when it requires approval. Throws `conflict` unless waiting for approval. */
  'rollouts.approve': { input: RolloutAction, output: RolloutDetail },
  /**
   * Stops the rollout for good. `keep` leaves switched devices on the new release; `rollback` returns them to the
   * release each ran before. Throws `conflict` when already finished.
   */
  'rollouts.abort': { input: z.object({ rolloutId: RolloutId, mode: z.enum(['keep', 'rollback']), actor, reason: requiredReason }), output: RolloutDetail },
  /** Returns switched devices of the current wave (or all) to their previous release; stops a rollout in progress. */
  'rollouts.rollback': { input: z.object({ rolloutId: RolloutId, scope: z.enum(['wave', 'all']), actor, reason: requiredReason }), output: RolloutDetail },
  /** Sends the failed and timed-out devices their install again (within the retry budget); a halted rollout runs again. */
  'rollouts.retry': { input: RolloutAction, output: RolloutDetail },
  /** The rollout with its waves, gate values and every device. Throws `not-found`. */
  'rollouts.status': { input: z.object({ rolloutId: RolloutId }), output: RolloutDetail },
  /** Every rollout without device rows, newest first. */
  'rollouts.list': { input: z.object({}), output: z.array(RolloutSummary) },
  /**
   * Simulates a stored rollout (`rolloutId`) or a definition (`spec`) against the current fleet or a synthetic one;
   * sends nothing. Simulation defaults: current fleet, no failures, all online, same latency, 5 min installs, 1 min
   * steps, seed 1.
   */
  'rollouts.dryRun': {
    input: z.object({ rolloutId: RolloutId.optional(), spec: RolloutSpecInput.optional(), simulation: SimulationInput.partial().optional() }),
    output: DryRunResult,
  },
  /** The per-device account as a JSON or CSV document. Throws `not-found`. */
  'rollouts.report': { input: z.object({ rolloutId: RolloutId, format: z.enum(['json', 'csv']) }), output: RolloutReportFile },
  /** Audit entries of one rollout (or all), newest `limit`, with a verification of the whole hash chain. */
  'rollouts.audit': {
    input: z.object({ rolloutId: RolloutId.optional(), limit: z.number().int().min(1).max(10_000).optional() }),
    output: z.object({ entries: z.array(AuditLogEntry), verification: AuditChainVerification }),
  },
} as const satisfies MethodTable

export const rolloutsEvents = {
  /** A rollout changed: status, wave, gate values or device counts. Fetch 'rollouts.status' for the device rows. */
  'rollout.progressed': RolloutSummary,
} as const satisfies EventTable

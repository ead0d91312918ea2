/**
 * Staged rollouts (issue 6; defaults from anchors-security.md §10.11 and anchors-mission.md §6): what a rollout
 * installs, on which devices, in which waves, behind which gates, and how each device fared. Wire-safe schemas
 * shared by main, the renderer and the CLI. Durations are milliseconds, ratios are fractions (0.05 = 5 %).
 */
import { z } from 'zod'
import { DeviceId, Instant, ModelId, Sha256Hex } from './ids.ts'

/** Fits the signed directive's `rollout.id` ([A-Za-z0-9._-]{1,64}, src-shared/trust/metadata.ts). */
export const RolloutId = z.string().regex(/^r-[0-9a-f]{12}$/, 'a rollout id looks like r-0123456789ab')
export type RolloutId = z.infer<typeof RolloutId>

export const rolloutStatuses = ['draft', 'running', 'paused', 'waiting-approval', 'completed', 'halted', 'aborted'] as const
export const RolloutStatus = z.enum(rolloutStatuses)
export type RolloutStatus = z.infer<typeof RolloutStatus>

const Name = z.string().min(1).max(128)
const ProviderName = z.string().min(1).max(32)
const Ratio = z.number().min(0).max(1)
const Duration = z.number().int().min(0).max(30 * 24 * 60 * 60 * 1000)

/** What a device must report to load a variant. Empty lists mean "any"; lists are any-of. */
export const VariantRequirements = z.object({
  /** Execution providers that actually loaded on the device (the agent's probe), e.g. ['cuda']. */
  executionProviders: z.array(ProviderName).max(16),
  /** CPU architectures in Node's process.arch names, e.g. ['arm64']. */
  arch: z.array(z.string().min(1).max(32)).max(16),
  minMemoryBytes: z.number().int().nonnegative().nullable(),
  /** Prefixes of accelerator device nodes, e.g. ['/dev/nvidia']. */
  accelerators: z.array(z.string().min(1).max(128)).max(16),
})
export type VariantRequirements = z.infer<typeof VariantRequirements>

/** One build of the release, e.g. fp16 for CUDA devices, int8 for CPUs. Today a variant is an imported model. */
export const RolloutVariant = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, 'a variant name is 1-32 of [A-Za-z0-9._-]'),
  modelId: ModelId,
  requirements: VariantRequirements,
})
export type RolloutVariant = z.infer<typeof RolloutVariant>

/** Which devices a rollout may touch. Every non-empty criterion must hold; lists inside a criterion are any-of, except tags (all-of). */
export const RolloutTarget = z.object({
  /** Explicit devices; empty means the whole fleet. */
  deviceIds: z.array(DeviceId).max(100_000),
  tags: z.array(Name).max(32),
  groups: z.array(Name).max(32),
  arch: z.array(z.string().min(1).max(32)).max(16),
  executionProviders: z.array(ProviderName).max(16),
  minMemoryBytes: z.number().int().nonnegative().nullable(),
})
export type RolloutTarget = z.infer<typeof RolloutTarget>

/** A wave reaches `cumulativePercent` of the targeted devices, and at least `minDevices` of them. */
export const WaveSpec = z.object({
  cumulativePercent: z.number().gt(0).max(100),
  minDevices: z.number().int().min(0).max(100_000),
  /** Time to wait after the wave's last device settled before the next wave starts (§10.11: >= 30 min). */
  soakMs: Duration,
  /** The next wave starts only after an operator approves it. */
  requiresApproval: z.boolean(),
})
export type WaveSpec = z.infer<typeof WaveSpec>

/** Thresholds of the wave gate. A ratio rule only speaks once its minimum count is reached. */
export const GatePolicy = z.object({
  /** No verdict (advance or halt) before this many devices executed (min'd with the devices sent so far). */
  minExecutedForVerdict: z.number().int().min(1).max(100_000),
  maxInstallFailureRatio: Ratio,
  minExecutedForFailureRatio: z.number().int().min(1).max(100_000),
  maxTimeoutRatio: Ratio,
  minExecutedForTimeoutRatio: z.number().int().min(1).max(100_000),
  /** Devices that never acknowledged their directive within the silence timeout, over devices sent to. */
  maxSilentRatio: Ratio,
  minSentForSilentRatio: z.number().int().min(1).max(100_000),
  /** Devices that rolled back locally (health check, trial limit), over devices executed. */
  maxHealthFailureRatio: Ratio,
  /** New p95 over previous p95 (same devices, else a matched control cohort); 1.2 = 20 % slower halts. */
  maxLatencyRatio: z.number().min(1).max(100),
  minLatencyDevices: z.number().int().min(1).max(100_000),
  maxDriftScore: z.number().min(0).max(100),
  minDriftSamples: z.number().int().min(1).max(1_000_000_000),
})
export type GatePolicy = z.infer<typeof GatePolicy>

export const RampPolicy = z.object({
  basePerMinute: z.number().int().min(1).max(100_000),
  factor: z.number().min(1).max(10),
  /** The rate is multiplied by `factor` after every this many committed devices. */
  successesPerStep: z.number().int().min(1).max(100_000),
})
export type RampPolicy = z.infer<typeof RampPolicy>

export const RatePolicy = z.object({
  /** Directives per minute at most; null: no limit. */
  maxPerMinute: z.number().int().min(1).max(100_000).nullable(),
  ramp: RampPolicy.nullable(),
})
export type RatePolicy = z.infer<typeof RatePolicy>

/** Installs are sent only inside a window (UTC); with no windows, at any time. Rollbacks are never held back. */
export const MaintenanceWindow = z.object({
  /** 0 = Sunday ... 6 = Saturday; empty means every day. */
  daysUtc: z.array(z.number().int().min(0).max(6)).max(7),
  startMinuteUtc: z.number().int().min(0).max(1439),
  /** Exclusive; below the start the window wraps past midnight. */
  endMinuteUtc: z.number().int().min(0).max(1440),
})
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>

export const BreachAction = z.enum(['halt', 'halt-and-rollback'])
export type BreachAction = z.infer<typeof BreachAction>

export const RolloutTimeouts = z.object({
  /** From the device accepting the directive to a terminal install state (§10.11: 60 min). */
  installTimeoutMs: Duration,
  /** From sending to the device's first acknowledgement; past it the device counts as silent. */
  silenceTimeoutMs: Duration,
})
export type RolloutTimeouts = z.infer<typeof RolloutTimeouts>

export const RetryPolicy = z.object({
  maxFailedRetries: z.number().int().min(0).max(10),
  maxTimedOutRetries: z.number().int().min(0).max(10),
})
export type RetryPolicy = z.infer<typeof RetryPolicy>

/** A complete, normalized rollout definition (every default filled in). */
export const RolloutSpec = z.object({
  name: Name,
  release: z.object({ name: Name, variants: z.array(RolloutVariant).min(1).max(8) }),
  target: RolloutTarget,
  waves: z.array(WaveSpec).min(1).max(16),
  gates: GatePolicy,
  rate: RatePolicy,
  maintenanceWindows: z.array(MaintenanceWindow).max(16),
  onBreach: BreachAction,
  timeouts: RolloutTimeouts,
  retries: RetryPolicy,
})
export type RolloutSpec = z.infer<typeof RolloutSpec>

/** What callers send: everything but the release may be left out and gets the documented default. */
export const RolloutSpecInput = z.object({
  name: Name.optional(),
  release: z.object({
    name: Name.optional(),
    variants: z
      .array(z.object({ name: RolloutVariant.shape.name.optional(), modelId: ModelId, requirements: VariantRequirements.partial().optional() }))
      .min(1)
      .max(8),
  }),
  target: RolloutTarget.partial().optional(),
  waves: z.array(WaveSpec.partial().extend({ cumulativePercent: WaveSpec.shape.cumulativePercent })).min(1).max(16).optional(),
  /** Applied to every wave that does not set its own. */
  soakMs: Duration.optional(),
  /** Manual approval before every wave after the canary. */
  requireApproval: z.boolean().optional(),
  gates: GatePolicy.partial().optional(),
  rate: RatePolicy.partial().optional(),
  maintenanceWindows: z.array(MaintenanceWindow).max(16).optional(),
  onBreach: BreachAction.optional(),
  timeouts: RolloutTimeouts.partial().optional(),
  retries: RetryPolicy.partial().optional(),
})
export type RolloutSpecInput = z.infer<typeof RolloutSpecInput>

export const gateReasons = [
  'install-failures',
  'timeouts',
  'silent-devices',
  'health-check-failures',
  'latency-regression',
  'drift',
  'too-few-executed',
  'devices-pending',
  'soaking',
] as const
export const GateReason = z.enum(gateReasons)
export type GateReason = z.infer<typeof GateReason>

/** The numbers a gate decision was made from, for the UI and the report. Ratios are null below their minimum count. */
export const GateValues = z.object({
  sentCount: z.number().int().nonnegative(),
  executedCount: z.number().int().nonnegative(),
  committedCount: z.number().int().nonnegative(),
  failedCount: z.number().int().nonnegative(),
  timedOutCount: z.number().int().nonnegative(),
  silentCount: z.number().int().nonnegative(),
  healthFailureCount: z.number().int().nonnegative(),
  pendingInWaveCount: z.number().int().nonnegative(),
  installFailureRatio: z.number().nullable(),
  timeoutRatio: z.number().nullable(),
  silentRatio: z.number().nullable(),
  healthFailureRatio: z.number().nullable(),
  /** New p95 / baseline p95 and how it was measured. */
  latencyRatio: z.number().nullable(),
  latencyBasis: z.enum(['same-devices', 'control-cohort', 'unmeasured']),
  latencyDeviceCount: z.number().int().nonnegative(),
  driftScore: z.number().nullable(),
  driftSampleCount: z.number().int().nonnegative(),
  soakRemainingMs: z.number().int().nonnegative().nullable(),
})
export type GateValues = z.infer<typeof GateValues>

export const GateVerdict = z.enum(['wait', 'advance', 'halt'])
export type GateVerdict = z.infer<typeof GateVerdict>

export const GateDecision = z.object({
  verdict: GateVerdict,
  /** Halt: every rule that fired. Wait: what is still missing. Advance: empty. */
  reasons: z.array(GateReason),
  values: GateValues,
})
export type GateDecision = z.infer<typeof GateDecision>

export const waveStatuses = ['pending', 'active', 'passed', 'halted'] as const
export const WaveStatus = z.enum(waveStatuses)
export type WaveStatus = z.infer<typeof WaveStatus>

export const WaveState = z.object({
  index: z.number().int().nonnegative(),
  spec: WaveSpec,
  /** Devices in this wave and all before it. */
  cumulativeDeviceCount: z.number().int().nonnegative(),
  deviceCount: z.number().int().nonnegative(),
  status: WaveStatus,
  startedAt: Instant.nullable(),
  /** When the wave's last device reached a terminal (or silent) state; soak counts from here. */
  settledAt: Instant.nullable(),
  approvedAt: Instant.nullable(),
  approvedBy: z.string().max(200).nullable(),
  finishedAt: Instant.nullable(),
  decision: GateDecision.nullable(),
})
export type WaveState = z.infer<typeof WaveState>

export const rolloutDeviceStatuses = [
  'skipped-incompatible',
  'planned',
  'sending',
  'sent',
  'installing',
  'committed',
  'failed',
  'timed-out',
  'silent',
  'rolled-back',
  'rollback-sending',
  'rollback-sent',
] as const
export const RolloutDeviceStatus = z.enum(rolloutDeviceStatuses)
export type RolloutDeviceStatus = z.infer<typeof RolloutDeviceStatus>

export const ArtifactPin = z.object({ modelId: ModelId, sha256: Sha256Hex })
export type ArtifactPin = z.infer<typeof ArtifactPin>

/** One device of a rollout: the plan, the directive ledger and what the device reported, as persisted. */
export const RolloutDevice = z.object({
  deviceId: DeviceId,
  /** Position in the plan (stratified by hardware class); sends follow it. */
  position: z.number().int().nonnegative(),
  /** Null for devices not in any wave (incompatible, already running the release). */
  wave: z.number().int().nonnegative().nullable(),
  variant: z.string().max(32).nullable(),
  target: ArtifactPin.nullable(),
  /** What the device ran when planned: the rollback target. */
  previous: ArtifactPin.nullable(),
  hardwareClass: z.string().max(128),
  status: RolloutDeviceStatus,
  /** Install attempts started (retries included). */
  attempt: z.number().int().nonnegative(),
  /** The device's newest directive seq when the send was decided; a crash-interrupted send is matched against it. */
  seqBefore: z.number().int().nonnegative().nullable(),
  seq: z.number().int().positive().nullable(),
  intentAt: Instant.nullable(),
  sentAt: Instant.nullable(),
  acceptedAt: Instant.nullable(),
  settledAt: Instant.nullable(),
  errorCode: z.string().max(64).nullable(),
  /** Why the device is where it is, in words (skip reason, rollback reason). */
  note: z.string().max(300).nullable(),
  /** A local rollback after the health gate (counted by the health gate, not the install-failure gate). */
  isHealthFailure: z.boolean(),
  baselineP95Ms: z.number().nonnegative().nullable(),
  p95Ms: z.number().nonnegative().nullable(),
  rollbackAttempt: z.number().int().nonnegative(),
  rollbackSeqBefore: z.number().int().nonnegative().nullable(),
  rollbackSeq: z.number().int().positive().nullable(),
  rollbackIntentAt: Instant.nullable(),
  rollbackSentAt: Instant.nullable(),
})
export type RolloutDevice = z.infer<typeof RolloutDevice>

export const deviceOutcomes = ['committed', 'failed', 'rolled-back', 'skipped-incompatible', 'unreachable', 'not-sent', 'in-progress'] as const
export const DeviceOutcome = z.enum(deviceOutcomes)
export type DeviceOutcome = z.infer<typeof DeviceOutcome>

export const OutcomeCounts = z.record(DeviceOutcome, z.number().int().nonnegative())
export type OutcomeCounts = z.infer<typeof OutcomeCounts>

export const RolloutRecord = z.object({
  rolloutId: RolloutId,
  spec: RolloutSpec,
  status: RolloutStatus,
  createdAt: Instant,
  createdBy: z.string().max(200),
  startedAt: Instant.nullable(),
  finishedAt: Instant.nullable(),
  updatedAt: Instant,
  /** Index of the wave being rolled out; null before start. */
  currentWave: z.number().int().nonnegative().nullable(),
  waves: z.array(WaveState),
  haltReasons: z.array(z.string().max(64)).max(16),
  abortMode: z.enum(['keep', 'rollback']).nullable(),
  /** Grows by one with every stored change; guards against lost updates. */
  revision: z.number().int().nonnegative(),
})
export type RolloutRecord = z.infer<typeof RolloutRecord>

/** A rollout without its device rows (lists, events). */
export const RolloutSummary = RolloutRecord.extend({
  deviceCount: z.number().int().nonnegative(),
  outcomes: OutcomeCounts,
  /** Devices by status right now. */
  statusCounts: z.record(RolloutDeviceStatus, z.number().int().nonnegative()),
})
export type RolloutSummary = z.infer<typeof RolloutSummary>

export const RolloutDetail = RolloutSummary.extend({ devices: z.array(RolloutDevice) })
export type RolloutDetail = z.infer<typeof RolloutDetail>

/** A synthetic fleet or the current one, and how its devices behave, for a dry run. */
export const SimulationInput = z.object({
  /** null: the current fleet; a number: that many synthetic CPU devices. */
  syntheticDeviceCount: z.number().int().min(1).max(100_000).nullable(),
  /** Chance that a device's install fails. */
  failureRate: Ratio,
  /** Chance that a device's health check fails after the switch (local rollback). */
  healthFailureRate: Ratio,
  /** Chance that a device is online during the rollout. */
  onlineRatio: Ratio,
  /** p95 latency of the new release over the old one, as the devices would report it. */
  latencyRatio: z.number().min(0.01).max(100),
  installDurationMs: Duration,
  timeStepMs: z.number().int().min(1000).max(24 * 60 * 60 * 1000),
  seed: z.number().int().min(0).max(2 ** 31 - 1),
})
export type SimulationInput = z.infer<typeof SimulationInput>

export const TimelinePoint = z.object({
  atMs: z.number().nonnegative(),
  wave: z.number().int().nonnegative().nullable(),
  status: RolloutStatus,
  sentCount: z.number().int().nonnegative(),
  committedCount: z.number().int().nonnegative(),
  failedCount: z.number().int().nonnegative(),
  silentCount: z.number().int().nonnegative(),
  event: z.string().max(200).nullable(),
})
export type TimelinePoint = z.infer<typeof TimelinePoint>

export const DryRunResult = z.object({
  outcome: z.enum(['completed', 'halted', 'stalled']),
  haltReasons: z.array(GateReason),
  deviceCount: z.number().int().nonnegative(),
  skippedIncompatibleCount: z.number().int().nonnegative(),
  waves: z.array(z.object({ index: z.number().int(), deviceCount: z.number().int(), cumulativeDeviceCount: z.number().int(), startedAtMs: z.number().nullable(), finishedAtMs: z.number().nullable() })),
  /** Devices that received the release before the halt (or all, when it completed). */
  exposedCount: z.number().int().nonnegative(),
  /** From start to the last wave passing; null when it never got there. */
  timeToCompleteMs: z.number().nonnegative().nullable(),
  /** Simulated time covered. */
  simulatedMs: z.number().nonnegative(),
  timeline: z.array(TimelinePoint),
})
export type DryRunResult = z.infer<typeof DryRunResult>

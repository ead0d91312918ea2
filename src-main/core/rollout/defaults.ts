/**
 * The documented defaults of a rollout and the normalization of what callers send. Numbers come from
 * anchors-security.md §10.11 (AWS-shaped) and anchors-mission.md §6.
 */
import {
  RolloutSpec,
  type GatePolicy,
  type RolloutSpecInput,
  type RolloutTimeouts,
  type RetryPolicy,
  type WaveSpec,
} from '../../../src-shared/domain/rollout.ts'
import { AppError } from '../../../src-shared/errors.ts'

const MINUTE_MS = 60_000

/** Each wave soaks at least 30 minutes after its last device settled (§10.11). */
export const DEFAULT_SOAK_MS = 30 * MINUTE_MS

/** canary max(5 devices, 1 %) → 10 % → 50 % → 100 %, cumulative. */
export function defaultWaves(soakMs = DEFAULT_SOAK_MS, requiresApproval = false): WaveSpec[] {
  return [
    { cumulativePercent: 1, minDevices: 5, soakMs, requiresApproval: false },
    { cumulativePercent: 10, minDevices: 0, soakMs, requiresApproval },
    { cumulativePercent: 50, minDevices: 0, soakMs, requiresApproval },
    { cumulativePercent: 100, minDevices: 0, soakMs, requiresApproval },
  ]
}

export const DEFAULT_GATES: GatePolicy = {
  minExecutedForVerdict: 5,
  // FAILED >= 5 % after >= 20 executed; TIMED_OUT >= 10 % after >= 20 (§10.11).
  maxInstallFailureRatio: 0.05,
  minExecutedForFailureRatio: 20,
  maxTimeoutRatio: 0.1,
  minExecutedForTimeoutRatio: 20,
  // Silent devices are their own class (anchors-mission.md §4 #3); a quarter of the fleet going quiet is a signal.
  maxSilentRatio: 0.25,
  minSentForSilentRatio: 20,
  maxHealthFailureRatio: 0.05,
  maxLatencyRatio: 1.2,
  minLatencyDevices: 3,
  // PSI / JS >= 0.1 with >= 200 samples (anchors-mission.md §6).
  maxDriftScore: 0.1,
  minDriftSamples: 200,
}

export const DEFAULT_TIMEOUTS: RolloutTimeouts = { installTimeoutMs: 60 * MINUTE_MS, silenceTimeoutMs: 60 * MINUTE_MS }
/** FAILED <= 2, TIMED_OUT <= 1 (§10.11). */
export const DEFAULT_RETRIES: RetryPolicy = { maxFailedRetries: 2, maxTimedOutRetries: 1 }
/** The optional exponential ramp (§10.11): base 10/min, factor 2, step after 20 successes. */
export const DEFAULT_RAMP = { basePerMinute: 10, factor: 2, successesPerStep: 20 } as const

/**
 * Fills in every default and checks what a schema cannot: waves grow strictly and end at 100 %. Throws AppError
 * 'invalid-input' with a sentence the operator can act on.
 */
export function normalizeRolloutSpec(input: RolloutSpecInput): RolloutSpec {
  const soakMs = input.soakMs ?? DEFAULT_SOAK_MS
  const waves = input.waves
    ? input.waves.map((wave, index) => ({
        cumulativePercent: wave.cumulativePercent,
        minDevices: wave.minDevices ?? 0,
        soakMs: wave.soakMs ?? soakMs,
        requiresApproval: wave.requiresApproval ?? (index > 0 && input.requireApproval === true),
      }))
    : defaultWaves(soakMs, input.requireApproval ?? false)
  waves.forEach((wave, index) => {
    const previous = waves[index - 1]
    if (previous && wave.cumulativePercent <= previous.cumulativePercent) {
      throw new AppError('invalid-input', `Wave ${index + 1} must reach more than wave ${index}'s ${previous.cumulativePercent}% (waves are cumulative)`)
    }
  })
  const last = waves[waves.length - 1]
  if (!last || last.cumulativePercent !== 100) {
    throw new AppError('invalid-input', 'The last wave must reach 100% of the targeted devices')
  }
  const variants = input.release.variants.map((variant, index) => ({
    name: variant.name ?? (input.release.variants.length === 1 ? 'default' : `variant-${index + 1}`),
    modelId: variant.modelId,
    requirements: {
      executionProviders: variant.requirements?.executionProviders ?? [],
      arch: variant.requirements?.arch ?? [],
      minMemoryBytes: variant.requirements?.minMemoryBytes ?? null,
      accelerators: variant.requirements?.accelerators ?? [],
    },
  }))
  const names = new Set<string>()
  for (const variant of variants) {
    if (names.has(variant.name)) throw new AppError('invalid-input', `Two variants are named '${variant.name}'; name each variant once`)
    names.add(variant.name)
  }
  const releaseName = input.release.name ?? variants.map((variant) => variant.modelId).join('+')
  const rampInput = input.rate?.ramp
  return RolloutSpec.parse({
    name: input.name ?? `rollout of ${releaseName}`.slice(0, 128),
    release: { name: releaseName.slice(0, 128), variants },
    target: {
      deviceIds: [...new Set(input.target?.deviceIds ?? [])],
      tags: input.target?.tags ?? [],
      groups: input.target?.groups ?? [],
      arch: input.target?.arch ?? [],
      executionProviders: input.target?.executionProviders ?? [],
      minMemoryBytes: input.target?.minMemoryBytes ?? null,
    },
    waves,
    gates: { ...DEFAULT_GATES, ...definedOnly(input.gates ?? {}) },
    rate: { maxPerMinute: input.rate?.maxPerMinute ?? null, ramp: rampInput ?? null },
    maintenanceWindows: input.maintenanceWindows ?? [],
    onBreach: input.onBreach ?? 'halt-and-rollback',
    timeouts: { ...DEFAULT_TIMEOUTS, ...definedOnly(input.timeouts ?? {}) },
    retries: { ...DEFAULT_RETRIES, ...definedOnly(input.retries ?? {}) },
  })
}

/** Spreading `{ a: undefined }` would erase a default; keep only the fields the caller set. */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>
}

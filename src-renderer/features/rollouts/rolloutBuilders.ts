/** Test-data builders for the Rollouts page: complete, valid values with only what a test cares about overridden. */
import { rolloutDeviceStatuses, type DryRunResult, type GateDecision, type RolloutDetail, type RolloutDevice, type RolloutSpec, type WaveState } from '../../../src-shared/domain/rollout.ts'

export function aRolloutSpec(overrides: Partial<RolloutSpec> = {}): RolloutSpec {
  return {
    name: 'classifier 2.0',
    release: { name: 'classifier 2.0', variants: [{ name: 'default', modelId: 'm-0123456789ab', requirements: { executionProviders: [], arch: [], minMemoryBytes: null, accelerators: [] } }] },
    target: { deviceIds: [], tags: [], groups: [], arch: [], executionProviders: [], minMemoryBytes: null },
    waves: [
      { cumulativePercent: 50, minDevices: 1, soakMs: 60_000, requiresApproval: false },
      { cumulativePercent: 100, minDevices: 0, soakMs: 60_000, requiresApproval: false },
    ],
    gates: {
      minExecutedForVerdict: 5,
      maxInstallFailureRatio: 0.05,
      minExecutedForFailureRatio: 20,
      maxTimeoutRatio: 0.1,
      minExecutedForTimeoutRatio: 20,
      maxSilentRatio: 0.25,
      minSentForSilentRatio: 20,
      maxHealthFailureRatio: 0.05,
      maxLatencyRatio: 1.2,
      minLatencyDevices: 3,
      maxDriftScore: 0.1,
      minDriftSamples: 200,
    },
    rate: { maxPerMinute: null, ramp: null },
    maintenanceWindows: [],
    onBreach: 'halt-and-rollback',
    timeouts: { installTimeoutMs: 3_600_000, silenceTimeoutMs: 3_600_000 },
    retries: { maxFailedRetries: 2, maxTimedOutRetries: 1 },
    ...overrides,
  }
}

export function aGateDecision(overrides: Partial<GateDecision> = {}): GateDecision {
  return {
    verdict: 'wait',
    reasons: ['devices-pending'],
    values: {
      sentCount: 1,
      executedCount: 0,
      committedCount: 0,
      failedCount: 0,
      timedOutCount: 0,
      silentCount: 0,
      healthFailureCount: 0,
      pendingInWaveCount: 1,
      installFailureRatio: null,
      timeoutRatio: null,
      silentRatio: null,
      healthFailureRatio: null,
      latencyRatio: null,
      latencyBasis: 'unmeasured',
      latencyDeviceCount: 0,
      driftScore: null,
      driftSampleCount: 0,
      soakRemainingMs: null,
    },
    ...overrides,
  }
}

export function aWave(index: number, overrides: Partial<WaveState> = {}): WaveState {
  return {
    index,
    spec: { cumulativePercent: index === 0 ? 50 : 100, minDevices: 0, soakMs: 60_000, requiresApproval: false },
    cumulativeDeviceCount: index + 1,
    deviceCount: 1,
    status: 'pending',
    startedAt: null,
    settledAt: null,
    approvedAt: null,
    approvedBy: null,
    finishedAt: null,
    decision: null,
    ...overrides,
  }
}

export function aRolloutDevice(deviceId: string, overrides: Partial<RolloutDevice> = {}): RolloutDevice {
  return {
    deviceId,
    position: 0,
    wave: 0,
    variant: 'default',
    target: { modelId: 'm-0123456789ab', sha256: 'ab'.repeat(32) },
    previous: null,
    hardwareClass: 'x64|default',
    status: 'planned',
    attempt: 0,
    seqBefore: null,
    seq: null,
    intentAt: null,
    sentAt: null,
    acceptedAt: null,
    settledAt: null,
    errorCode: null,
    note: null,
    isHealthFailure: false,
    baselineP95Ms: null,
    p95Ms: null,
    rollbackAttempt: 0,
    rollbackSeqBefore: null,
    rollbackSeq: null,
    rollbackIntentAt: null,
    rollbackSentAt: null,
    ...overrides,
  }
}

export function aRolloutDetail(overrides: Partial<RolloutDetail> = {}): RolloutDetail {
  const devices = overrides.devices ?? [aRolloutDevice('d-1', { position: 0, wave: 0 }), aRolloutDevice('d-2', { position: 1, wave: 1 })]
  return {
    rolloutId: 'r-0123456789ab',
    spec: aRolloutSpec(),
    status: 'draft',
    createdAt: '2025-03-01T00:00:00.000Z',
    createdBy: 'ui via test',
    startedAt: null,
    finishedAt: null,
    updatedAt: '2025-03-01T00:00:00.000Z',
    currentWave: null,
    waves: [aWave(0), aWave(1)],
    haltReasons: [],
    abortMode: null,
    revision: 0,
    deviceCount: devices.length,
    outcomes: { committed: 0, failed: 0, 'rolled-back': 0, 'skipped-incompatible': 0, unreachable: 0, 'not-sent': 0, 'in-progress': devices.length },
    statusCounts: Object.fromEntries(rolloutDeviceStatuses.map((status) => [status, devices.filter((row) => row.status === status).length])) as RolloutDetail['statusCounts'],
    devices,
    ...overrides,
  }
}

export function aDryRunResult(overrides: Partial<DryRunResult> = {}): DryRunResult {
  return {
    outcome: 'halted',
    haltReasons: ['install-failures'],
    deviceCount: 1000,
    skippedIncompatibleCount: 0,
    waves: [{ index: 0, deviceCount: 10, cumulativeDeviceCount: 10, startedAtMs: 0, finishedAtMs: 600_000 }],
    exposedCount: 100,
    timeToCompleteMs: null,
    simulatedMs: 3_600_000,
    timeline: [
      { atMs: 0, wave: 0, status: 'running', sentCount: 0, committedCount: 0, failedCount: 0, silentCount: 0, event: 'started' },
      { atMs: 600_000, wave: 1, status: 'halted', sentCount: 100, committedCount: 80, failedCount: 20, silentCount: 0, event: 'halted: install failures 20.0% >= 5.0% (20 of 100)' },
    ],
    ...overrides,
  }
}

/**
 * Decides whether a rollout wave may advance, must wait, or must halt, from counts that `computeWaveStats`
 * gathers. Pure; a breach is a value, not an error (anchors-aesthetics.md §5 example 7).
 *
 * Failure, timeout and health counts are cumulative over the waves so far (AWS IoT Jobs' "after N executed"
 * semantics; a rollout of fewer than N devices uses all of them); pending devices and the soak belong to the current
 * wave. One backstop needs no ratio: once the verdict minimum has executed and not one device committed, the release
 * does not install, and the rollout halts rather than widen.
 */
import type { GateDecision, GatePolicy, GateReason, GateValues } from '../../../src-shared/domain/rollout.ts'

export interface LatencyComparison {
  /** New p95 / previous p95 over the same devices. */
  sameDevices: { deviceCount: number; ratio: number | null }
  /** New p95 of switched devices / p95 of matched devices still on the previous release. */
  controlCohort: { treatedCount: number; controlCount: number; ratio: number | null }
}

export interface WaveStats {
  /** Devices planned in this wave and every wave before it. */
  cumulativeDeviceCount: number
  /** Devices planned in all waves. */
  totalDeviceCount: number
  sentCount: number
  committedCount: number
  failedCount: number
  timedOutCount: number
  silentCount: number
  healthFailureCount: number
  /** Devices of the current wave not yet settled (planned, sending, sent, installing). */
  pendingInWaveCount: number
  latency: LatencyComparison
  drift: { score: number; sampleCount: number } | null
  /** Time left to soak after the wave settled; null while devices are pending. */
  soakRemainingMs: number | null
}

const ratioOrNull = (count: number, total: number, minimum: number) => (total >= minimum && total > 0 ? count / total : null)

function latencyVerdict(latency: LatencyComparison, policy: GatePolicy): Pick<GateValues, 'latencyRatio' | 'latencyBasis' | 'latencyDeviceCount'> {
  if (latency.sameDevices.ratio !== null && latency.sameDevices.deviceCount >= policy.minLatencyDevices) {
    return { latencyRatio: latency.sameDevices.ratio, latencyBasis: 'same-devices', latencyDeviceCount: latency.sameDevices.deviceCount }
  }
  const control = latency.controlCohort
  if (control.ratio !== null && control.treatedCount >= policy.minLatencyDevices && control.controlCount >= policy.minLatencyDevices) {
    return { latencyRatio: control.ratio, latencyBasis: 'control-cohort', latencyDeviceCount: control.treatedCount }
  }
  return { latencyRatio: null, latencyBasis: 'unmeasured', latencyDeviceCount: Math.max(latency.sameDevices.deviceCount, control.treatedCount) }
}

export function evaluateWaveGate(stats: WaveStats, policy: GatePolicy): GateDecision {
  const executedCount = stats.committedCount + stats.failedCount + stats.timedOutCount + stats.healthFailureCount
  const latency = latencyVerdict(stats.latency, policy)
  const driftIsMeasured = stats.drift !== null && stats.drift.sampleCount >= policy.minDriftSamples
  const values: GateValues = {
    sentCount: stats.sentCount,
    executedCount,
    committedCount: stats.committedCount,
    failedCount: stats.failedCount,
    timedOutCount: stats.timedOutCount,
    silentCount: stats.silentCount,
    healthFailureCount: stats.healthFailureCount,
    pendingInWaveCount: stats.pendingInWaveCount,
    installFailureRatio: ratioOrNull(stats.failedCount, executedCount, Math.min(policy.minExecutedForFailureRatio, stats.totalDeviceCount)),
    timeoutRatio: ratioOrNull(stats.timedOutCount, executedCount, Math.min(policy.minExecutedForTimeoutRatio, stats.totalDeviceCount)),
    silentRatio: ratioOrNull(stats.silentCount, stats.sentCount, policy.minSentForSilentRatio),
    healthFailureRatio: ratioOrNull(stats.healthFailureCount, executedCount, 1),
    ...latency,
    driftScore: stats.drift?.score ?? null,
    driftSampleCount: stats.drift?.sampleCount ?? 0,
    soakRemainingMs: stats.soakRemainingMs === null ? null : Math.max(0, Math.round(stats.soakRemainingMs)),
  }

  // No verdict before the minimum: a tiny fleet needs all of its devices, a large one the policy's count.
  const hasVerdictMinimum = executedCount >= Math.min(policy.minExecutedForVerdict, stats.cumulativeDeviceCount)
  const halts: GateReason[] = []
  // Silent devices never execute, so their rule has its own minimum (devices sent to).
  if (values.silentRatio !== null && values.silentRatio >= policy.maxSilentRatio) halts.push('silent-devices')
  if (hasVerdictMinimum) {
    const isNothingInstalling = stats.committedCount === 0 && stats.failedCount > 0
    if ((values.installFailureRatio !== null && values.installFailureRatio >= policy.maxInstallFailureRatio) || isNothingInstalling) halts.unshift('install-failures')
    if (values.timeoutRatio !== null && values.timeoutRatio >= policy.maxTimeoutRatio) halts.push('timeouts')
    if (values.healthFailureRatio !== null && stats.healthFailureCount > 0 && values.healthFailureRatio >= policy.maxHealthFailureRatio) {
      halts.push('health-check-failures')
    }
    // Model outcomes are statistics of telemetry windows: the first windows after a switch include the new session's
    // warm-up, so latency and drift give their verdict once the wave has soaked (they are shown all along).
    const hasSoaked = stats.soakRemainingMs === 0
    if (hasSoaked && values.latencyRatio !== null && values.latencyRatio > policy.maxLatencyRatio) halts.push('latency-regression')
    if (hasSoaked && driftIsMeasured && stats.drift !== null && stats.drift.score > policy.maxDriftScore) halts.push('drift')
  }
  if (halts.length > 0) return { verdict: 'halt', reasons: halts, values }

  const waits: GateReason[] = []
  if (stats.pendingInWaveCount > 0) waits.push('devices-pending')
  if (!hasVerdictMinimum) waits.push('too-few-executed')
  if (stats.pendingInWaveCount === 0 && (stats.soakRemainingMs === null || stats.soakRemainingMs > 0)) waits.push('soaking')
  if (waits.length > 0) return { verdict: 'wait', reasons: waits, values }
  return { verdict: 'advance', reasons: [], values }
}

/** One line per halt reason with the numbers behind it, for audit entries and the CLI. */
export function describeGateDecision(decision: GateDecision, policy: GatePolicy): string {
  const v = decision.values
  const percent = (ratio: number | null) => (ratio === null ? '-' : `${(ratio * 100).toFixed(1)}%`)
  const parts = decision.reasons.map((reason) => {
    switch (reason) {
      case 'install-failures':
        return `install failures ${percent(v.installFailureRatio)} >= ${percent(policy.maxInstallFailureRatio)} (${v.failedCount} of ${v.executedCount})`
      case 'timeouts':
        return `timeouts ${percent(v.timeoutRatio)} >= ${percent(policy.maxTimeoutRatio)} (${v.timedOutCount} of ${v.executedCount})`
      case 'silent-devices':
        return `silent devices ${percent(v.silentRatio)} >= ${percent(policy.maxSilentRatio)} (${v.silentCount} of ${v.sentCount})`
      case 'health-check-failures':
        return `health-check failures ${percent(v.healthFailureRatio)} >= ${percent(policy.maxHealthFailureRatio)} (${v.healthFailureCount} of ${v.executedCount})`
      case 'latency-regression':
        return `p95 latency ${v.latencyRatio?.toFixed(2) ?? '-'}x > ${policy.maxLatencyRatio}x (${v.latencyBasis}, ${v.latencyDeviceCount} devices)`
      case 'drift':
        return `drift ${v.driftScore?.toFixed(3) ?? '-'} > ${policy.maxDriftScore} (${v.driftSampleCount} samples)`
      case 'too-few-executed':
        return `${v.executedCount} executed, fewer than the ${policy.minExecutedForVerdict} needed for a verdict`
      case 'devices-pending':
        return `${v.pendingInWaveCount} device(s) still installing`
      case 'soaking':
        return v.soakRemainingMs === null ? 'soaking' : `soaking ${Math.ceil(v.soakRemainingMs / 1000)} s more`
      default:
        return reason
    }
  })
  return parts.join('; ')
}

/** Gathers the gate's inputs for the current wave from the device rows and what devices report now. Pure. */
import type { RolloutDevice, RolloutRecord } from '../../../src-shared/domain/rollout.ts'
import type { LatencyComparison, WaveStats } from './evaluateWaveGate.ts'
import type { DeviceObservation } from './observeDevice.ts'

/** Drift of the new release's inputs or predictions against its reference bins, for the devices switched so far. */
export interface DriftReading {
  score: number
  sampleCount: number
}

const PENDING: ReadonlySet<RolloutDevice['status']> = new Set(['planned', 'sending', 'sent', 'installing'])

export function isPendingStatus(status: RolloutDevice['status']): boolean {
  return PENDING.has(status)
}

export function computeWaveStats(
  rollout: RolloutRecord,
  rows: readonly RolloutDevice[],
  observations: ReadonlyMap<string, DeviceObservation>,
  drift: DriftReading | null,
  nowMs: number,
): WaveStats {
  const waveIndex = rollout.currentWave ?? 0
  const wave = rollout.waves[waveIndex]
  let sentCount = 0
  let committedCount = 0
  let failedCount = 0
  let timedOutCount = 0
  let silentCount = 0
  let healthFailureCount = 0
  let pendingInWaveCount = 0
  let waveSettledAt = ''
  for (const row of rows) {
    if (row.wave === null || row.wave > waveIndex) continue
    if (row.attempt > 0) sentCount += 1
    if (row.wave === waveIndex) {
      if (PENDING.has(row.status)) pendingInWaveCount += 1
      else if (row.settledAt !== null && row.settledAt > waveSettledAt) waveSettledAt = row.settledAt
    }
    // Only the install's own outcome counts; a rollback in progress says nothing about the release.
    if (row.rollbackSeq !== null || row.status === 'rollback-sending') continue
    switch (row.status) {
      case 'committed':
        committedCount += 1
        break
      case 'failed':
        // Superseded installs were replaced by someone else's directive: not the release's failure.
        if (row.errorCode !== 'superseded') failedCount += 1
        break
      case 'timed-out':
        timedOutCount += 1
        break
      case 'silent':
        silentCount += 1
        break
      case 'rolled-back':
        if (row.isHealthFailure) healthFailureCount += 1
        break
      default:
        break
    }
  }
  let soakRemainingMs: number | null = null
  if (wave && pendingInWaveCount === 0) {
    const settledAtMs = Date.parse(waveSettledAt || (wave.startedAt ?? new Date(nowMs).toISOString()))
    soakRemainingMs = Math.max(0, settledAtMs + wave.spec.soakMs - nowMs)
  }
  return {
    cumulativeDeviceCount: wave?.cumulativeDeviceCount ?? 0,
    totalDeviceCount: rollout.waves.at(-1)?.cumulativeDeviceCount ?? 0,
    sentCount,
    committedCount,
    failedCount,
    timedOutCount,
    silentCount,
    healthFailureCount,
    pendingInWaveCount,
    latency: compareLatency(rows, observations, waveIndex, wave?.startedAt ?? null),
    drift,
    soakRemainingMs,
  }
}

/**
 * p95 of the new release against the previous one. Same devices: the p95 each switched device had before its
 * directive and has now. Control cohort: switched devices against devices of the same hardware class still on the
 * previous release (not yet in a wave) over the same period, which removes time-of-day and site effects.
 */
export function compareLatency(
  rows: readonly RolloutDevice[],
  observations: ReadonlyMap<string, DeviceObservation>,
  waveIndex: number,
  since: string | null,
): LatencyComparison {
  let pairCount = 0
  let newSumMs = 0
  let baselineSumMs = 0
  const treatedByClass = new Map<string, { count: number; sumMs: number }>()
  const controlByClass = new Map<string, { count: number; sumMs: number }>()
  const add = (map: Map<string, { count: number; sumMs: number }>, key: string, valueMs: number) => {
    const entry = map.get(key) ?? { count: 0, sumMs: 0 }
    entry.count += 1
    entry.sumMs += valueMs
    map.set(key, entry)
  }
  for (const row of rows) {
    if (row.status === 'committed' && row.wave !== null && row.p95Ms !== null && row.rollbackSeq === null) {
      add(treatedByClass, row.hardwareClass, row.p95Ms)
      if (row.baselineP95Ms !== null && row.baselineP95Ms > 0) {
        pairCount += 1
        newSumMs += row.p95Ms
        baselineSumMs += row.baselineP95Ms
      }
      continue
    }
    if (row.status !== 'planned' || row.wave === null || row.wave <= waveIndex || since === null) continue
    const observation = observations.get(row.deviceId)
    if (!observation?.latency || observation.latency.windowEndAt < since) continue
    if (observation.activeSha256 !== (row.previous?.sha256 ?? null)) continue
    add(controlByClass, row.hardwareClass, observation.latency.p95Ms)
  }
  let treatedCount = 0
  let controlCount = 0
  let weightedRatio = 0
  for (const [key, treated] of treatedByClass) {
    const control = controlByClass.get(key)
    if (!control || control.sumMs <= 0) continue
    treatedCount += treated.count
    controlCount += control.count
    weightedRatio += treated.count * (treated.sumMs / treated.count / (control.sumMs / control.count))
  }
  return {
    sameDevices: { deviceCount: pairCount, ratio: pairCount > 0 && baselineSumMs > 0 ? newSumMs / baselineSumMs : null },
    controlCohort: { treatedCount, controlCount, ratio: treatedCount > 0 ? weightedRatio / treatedCount : null },
  }
}

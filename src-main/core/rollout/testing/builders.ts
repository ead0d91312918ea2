/** Test-data builders for the rollout core: complete values with only what a test cares about overridden. */
import type { RolloutSpecInput } from '../../../../src-shared/domain/rollout.ts'
import { normalizeRolloutSpec } from '../defaults.ts'
import type { WaveStats } from '../evaluateWaveGate.ts'
import type { DeviceObservation } from '../observeDevice.ts'
import type { FleetDevice, ResolvedVariant } from '../planRollout.ts'

export const OLD_SHA = 'a'.repeat(64)
export const NEW_SHA = 'b'.repeat(64)
export const GPU_SHA = 'c'.repeat(64)
export const OLD_MODEL = 'm-aaaaaaaaaaaa'
export const NEW_MODEL = 'm-bbbbbbbbbbbb'
export const GPU_MODEL = 'm-cccccccccccc'

export function aFleetDevice(deviceId: string, overrides: Partial<FleetDevice> = {}): FleetDevice {
  return {
    deviceId,
    tags: [],
    groups: [],
    isOnline: true,
    hardware: { arch: 'x64', memoryBytes: 8 * 1024 ** 3, accelerators: [] },
    executionProviders: ['cpu'],
    active: { modelId: OLD_MODEL, sha256: OLD_SHA },
    ...overrides,
  }
}

export function aFleet(count: number, prefix = 'd-'): FleetDevice[] {
  return Array.from({ length: count }, (_, index) => aFleetDevice(`${prefix}${String(index + 1).padStart(3, '0')}`))
}

export const cpuVariant: ResolvedVariant = {
  name: 'int8',
  modelId: NEW_MODEL,
  sha256: NEW_SHA,
  requirements: { executionProviders: [], arch: [], minMemoryBytes: null, accelerators: [] },
}

export const gpuVariant: ResolvedVariant = {
  name: 'fp16',
  modelId: GPU_MODEL,
  sha256: GPU_SHA,
  requirements: { executionProviders: ['cuda'], arch: [], minMemoryBytes: null, accelerators: [] },
}

export function aSpec(overrides: Partial<RolloutSpecInput> = {}) {
  return normalizeRolloutSpec({ release: { variants: [{ name: 'int8', modelId: NEW_MODEL }] }, soakMs: 60_000, ...overrides })
}

export function someStats(overrides: Partial<WaveStats> = {}): WaveStats {
  return {
    cumulativeDeviceCount: 100,
    totalDeviceCount: 1000,
    sentCount: 100,
    committedCount: 100,
    failedCount: 0,
    timedOutCount: 0,
    silentCount: 0,
    healthFailureCount: 0,
    pendingInWaveCount: 0,
    latency: { sameDevices: { deviceCount: 0, ratio: null }, controlCohort: { treatedCount: 0, controlCount: 0, ratio: null } },
    drift: null,
    soakRemainingMs: 0,
    ...overrides,
  }
}

export function anObservation(deviceId: string, overrides: Partial<DeviceObservation> = {}): DeviceObservation {
  return {
    deviceId,
    isOnline: true,
    reportedDirectiveSeq: 0,
    latestDirectiveSeq: null,
    installState: 'committed',
    installErrorCode: null,
    activeSha256: OLD_SHA,
    latency: null,
    ...overrides,
  }
}

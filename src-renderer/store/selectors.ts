import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import type { ModelSummary } from '../../src-shared/domain/model.ts'
import type { AppState } from './appState.ts'

// Selectors that build arrays or objects are used with useShallow at the call site.

export const selectDevices = (state: AppState): DeviceSummary[] =>
  Object.values(state.devicesById).sort((a, b) => a.deviceId.localeCompare(b.deviceId))

export const selectSelectedDevice = (state: AppState): DeviceSummary | null =>
  state.selectedDeviceId === null ? null : (state.devicesById[state.selectedDeviceId] ?? null)

export const selectFleetCounts = (state: AppState): { total: number; online: number; offline: number } => {
  const devices = Object.values(state.devicesById)
  const online = devices.filter((device) => device.isOnline).length
  return { total: devices.length, online, offline: devices.length - online }
}

/** Newest import first. */
export const selectModels = (state: AppState): ModelSummary[] =>
  Object.values(state.modelsById).sort((a, b) => b.importedAt.localeCompare(a.importedAt) || a.name.localeCompare(b.name))

/** Online devices first, then by id: the ones a deploy can reach right away lead the list. */
export const selectDeployTargets = (state: AppState): DeviceSummary[] =>
  selectDevices(state).sort((a, b) => Number(b.isOnline) - Number(a.isOnline))

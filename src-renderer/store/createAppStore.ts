import { create } from 'zustand'
import type { ConnectionState } from '../api/connection.ts'
import type { OutpostClient } from '../api/outpostClient.ts'
import { createPackagingSlice } from '../features/packaging/packagingSlice.ts'
import { createReleasesSlice } from '../features/releases/releasesSlice.ts'
import { createRolloutsSlice } from '../features/rollouts/rolloutsSlice.ts'
import { createTelemetrySlice } from '../features/telemetry/telemetrySlice.ts'
import type { AppState } from './appState.ts'
import { createDevicesSlice } from './devicesSlice.ts'
import { createModelsSlice } from './modelsSlice.ts'
import { createSystemSlice } from './systemSlice.ts'
import { createUiSlice, type PreferenceStorage } from './uiSlice.ts'

export interface AppStoreOptions {
  /** Where the theme choice is remembered (localStorage in the app, null in tests). */
  storage?: PreferenceStorage | null
  initialConnection?: ConnectionState
}

/** One bound store from slices (zustand's slices pattern); pushed events update it, nothing polls. */
export function createAppStore(client: OutpostClient, options: AppStoreOptions = {}) {
  const store = create<AppState>()((...args) => ({
    ...createDevicesSlice(client)(...args),
    ...createModelsSlice(client)(...args),
    ...createPackagingSlice(client)(...args),
    ...createReleasesSlice(client)(...args),
    ...createRolloutsSlice(client)(...args),
    ...createSystemSlice(client, options.initialConnection ?? { status: 'connecting', attempt: 0 })(...args),
    ...createTelemetrySlice(client)(...args),
    ...createUiSlice(options.storage ?? null)(...args),
  }))
  client.on('device.changed', (device) => store.getState().applyDeviceChanged(device))
  client.on('model.changed', (model) => store.getState().applyModelChanged(model))
  client.on('packaging.progressed', (event) => store.getState().applyPackagingProgress(event))
  client.on('release.changed', (release) => store.getState().applyReleaseChanged(release))
  client.on('rollout.progressed', (summary) => store.getState().applyRolloutProgressed(summary))
  client.on('telemetry.ingested', () => store.getState().applyTelemetryIngested())
  client.on('alert.raised', (alert) => store.getState().applyAlertRaised(alert))
  return store
}

export type AppStore = ReturnType<typeof createAppStore>

import { create } from 'zustand'
import type { ConnectionState } from '../api/connection.ts'
import type { OutpostClient } from '../api/outpostClient.ts'
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
    ...createSystemSlice(client, options.initialConnection ?? { status: 'connecting', attempt: 0 })(...args),
    ...createUiSlice(options.storage ?? null)(...args),
  }))
  client.on('device.changed', (device) => store.getState().applyDeviceChanged(device))
  client.on('model.changed', (model) => store.getState().applyModelChanged(model))
  return store
}

export type AppStore = ReturnType<typeof createAppStore>

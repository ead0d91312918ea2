import type { DeviceId } from '../../src-shared/domain/ids.ts'
import type { SliceCreator } from './appState.ts'

export type Page = 'fleet' | 'models' | 'releases' | 'rollouts' | 'drift'
export type StatusFilter = 'all' | 'online' | 'offline'
/** 'system' follows prefers-color-scheme. */
export type ThemePreference = 'system' | 'light' | 'dark'

export const THEME_STORAGE_KEY = 'outpost.theme'

export type PreferenceStorage = Pick<Storage, 'getItem' | 'setItem'>

export interface UiSlice {
  page: Page
  selectedDeviceId: DeviceId | null
  deviceSearch: string
  statusFilter: StatusFilter
  theme: ThemePreference
  navigate: (page: Page) => void
  selectDevice: (deviceId: DeviceId | null) => void
  setDeviceSearch: (search: string) => void
  setStatusFilter: (filter: StatusFilter) => void
  setTheme: (theme: ThemePreference) => void
}

export function readThemePreference(storage: PreferenceStorage | null): ThemePreference {
  try {
    const stored = storage?.getItem(THEME_STORAGE_KEY)
    return stored === 'light' || stored === 'dark' ? stored : 'system'
  } catch {
    return 'system'
  }
}

export const createUiSlice =
  (storage: PreferenceStorage | null): SliceCreator<UiSlice> =>
  (set) => ({
    page: 'fleet',
    selectedDeviceId: null,
    deviceSearch: '',
    statusFilter: 'all',
    theme: readThemePreference(storage),
    navigate: (page) => set({ page }),
    selectDevice: (selectedDeviceId) => set({ selectedDeviceId }),
    setDeviceSearch: (deviceSearch) => set({ deviceSearch }),
    setStatusFilter: (statusFilter) => set({ statusFilter }),
    setTheme(theme) {
      try {
        storage?.setItem(THEME_STORAGE_KEY, theme)
      } catch {
        // A blocked storage only costs remembering the choice across reloads.
      }
      set({ theme })
    },
  })

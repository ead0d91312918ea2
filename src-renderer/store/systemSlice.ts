import type { SystemInfo } from '../../src-shared/contract/systemContract.ts'
import type { ConnectionState } from '../api/connection.ts'
import type { OutpostClient } from '../api/outpostClient.ts'
import type { SliceCreator } from './appState.ts'
import { asUiError, type LoadState } from './loadState.ts'

export interface SystemSlice {
  info: SystemInfo | null
  infoLoad: LoadState
  connection: ConnectionState
  loadSystemInfo: () => Promise<void>
  setConnection: (connection: ConnectionState) => void
  /** Loads everything the pages show; run on every (re)connect, since pushes may have been missed meanwhile. */
  reloadAll: () => Promise<void>
}

export const createSystemSlice =
  (client: OutpostClient, initialConnection: ConnectionState): SliceCreator<SystemSlice> =>
  (set, get) => ({
    info: null,
    infoLoad: 'idle',
    connection: initialConnection,
    async loadSystemInfo() {
      set({ infoLoad: 'loading' })
      try {
        set({ info: await client.call('system.info', {}), infoLoad: 'ready' })
      } catch (error) {
        set({ infoLoad: { error: asUiError(error) } })
      }
    },
    setConnection: (connection) => set({ connection }),
    async reloadAll() {
      const state = get()
      await Promise.all([state.loadSystemInfo(), state.loadDevices(), state.loadModels()])
    },
  })

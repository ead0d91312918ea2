import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import type { DeviceId } from '../../src-shared/domain/ids.ts'
import type { OutpostClient } from '../api/outpostClient.ts'
import type { SliceCreator } from './appState.ts'
import { asUiError, createPushLedger, type LoadState } from './loadState.ts'

export interface DevicesSlice {
  devicesById: Record<DeviceId, DeviceSummary>
  devicesLoad: LoadState
  loadDevices: () => Promise<void>
  /** Applies a pushed 'device.changed': the newest summary replaces the old one. */
  applyDeviceChanged: (device: DeviceSummary) => void
}

export const createDevicesSlice =
  (client: OutpostClient): SliceCreator<DevicesSlice> =>
  (set) => {
    const pushedDuringLoad = createPushLedger<DeviceSummary>()
    return {
      devicesById: {},
      devicesLoad: 'idle',
      async loadDevices() {
        set({ devicesLoad: 'loading' })
        const pushed = pushedDuringLoad.open()
        try {
          const devices = await client.call('devices.list', {})
          const listed = Object.fromEntries(devices.map((device) => [device.deviceId, device]))
          set({ devicesById: { ...listed, ...Object.fromEntries(pushed) }, devicesLoad: 'ready' })
        } catch (error) {
          set({ devicesLoad: { error: asUiError(error) } })
        } finally {
          pushedDuringLoad.close(pushed)
        }
      },
      applyDeviceChanged(device) {
        pushedDuringLoad.record(device.deviceId, device)
        set((state) => ({ devicesById: { ...state.devicesById, [device.deviceId]: device } }))
      },
    }
  }

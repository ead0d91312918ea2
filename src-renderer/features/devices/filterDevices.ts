import type { DeviceSummary } from '../../../src-shared/domain/device.ts'
import type { StatusFilter } from '../../store/uiSlice.ts'

/** Case-insensitive substring match on the device id, then the online filter. Keeps the input order. */
export function filterDevices(devices: DeviceSummary[], search: string, status: StatusFilter): DeviceSummary[] {
  const needle = search.trim().toLowerCase()
  return devices.filter(
    (device) =>
      (needle === '' || device.deviceId.toLowerCase().includes(needle)) &&
      (status === 'all' || device.isOnline === (status === 'online')),
  )
}

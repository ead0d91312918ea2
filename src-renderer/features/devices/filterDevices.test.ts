import { describe, expect, it } from 'vitest'
import { aDevice } from '../../testing/builders.ts'
import { filterDevices } from './filterDevices.ts'

const devices = [
  aDevice({ deviceId: 'camera-1', isOnline: true }),
  aDevice({ deviceId: 'camera-2', isOnline: false }),
  aDevice({ deviceId: 'gateway', isOnline: true }),
]
const ids = (list: typeof devices) => list.map((device) => device.deviceId)

describe('filterDevices', () => {
  it('matches the id case-insensitively, ignoring surrounding spaces', () => {
    expect(ids(filterDevices(devices, ' CAMERA ', 'all'))).toEqual(['camera-1', 'camera-2'])
  })

  it('filters by online status', () => {
    expect(ids(filterDevices(devices, '', 'online'))).toEqual(['camera-1', 'gateway'])
    expect(ids(filterDevices(devices, '', 'offline'))).toEqual(['camera-2'])
  })

  it('combines search and status', () => {
    expect(ids(filterDevices(devices, 'camera', 'offline'))).toEqual(['camera-2'])
  })
})

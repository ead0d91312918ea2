import { useMemo } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { DeviceSummary } from '../../../src-shared/domain/device.ts'
import { useAppStore } from '../../store/StoreContext.tsx'
import { selectDevices } from '../../store/selectors.ts'
import { filterDevices } from './filterDevices.ts'

/** All devices (sorted by id) and those that pass the page's search and status filter. */
export function useDeviceFilter(): { all: DeviceSummary[]; visible: DeviceSummary[] } {
  const all = useAppStore(useShallow(selectDevices))
  const search = useAppStore((state) => state.deviceSearch)
  const status = useAppStore((state) => state.statusFilter)
  const visible = useMemo(() => filterDevices(all, search, status), [all, search, status])
  return { all, visible }
}

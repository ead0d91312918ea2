import { EmptyState } from '../../components/EmptyState.tsx'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { useNow } from '../../lib/useNow.ts'
import { loadErrorOf } from '../../store/loadState.ts'
import { selectSelectedDevice } from '../../store/selectors.ts'
import { useAppStore } from '../../store/StoreContext.tsx'
import type { StatusFilter } from '../../store/uiSlice.ts'
import { DeviceDetail } from './DeviceDetail.tsx'
import { DeviceTable } from './DeviceTable.tsx'
import { useDeviceFilter } from './useDeviceFilter.ts'

const DEFAULT_BROKER_URL = 'mqtt://127.0.0.1:1883'

export function FleetPage() {
  const { all, visible } = useDeviceFilter()
  const load = useAppStore((state) => state.devicesLoad)
  const loadDevices = useAppStore((state) => state.loadDevices)
  const search = useAppStore((state) => state.deviceSearch)
  const setSearch = useAppStore((state) => state.setDeviceSearch)
  const statusFilter = useAppStore((state) => state.statusFilter)
  const setStatusFilter = useAppStore((state) => state.setStatusFilter)
  const selected = useAppStore(selectSelectedDevice)
  const selectDevice = useAppStore((state) => state.selectDevice)
  const brokerUrl = useAppStore((state) => state.info?.brokerUrl ?? DEFAULT_BROKER_URL)
  const nowMs = useNow()
  const loadError = loadErrorOf(load)

  if (all.length === 0) {
    if (loadError) return <ErrorNotice error={loadError} onRetry={() => void loadDevices()} />
    if (load !== 'ready') return <p className="muted" role="status">Loading devices…</p>
    return (
      <EmptyState
        title="No devices yet"
        commands={[
          'npm start -- --demo',
          'outpost devices enroll d-1',
          `outpost-agent --broker ${brokerUrl} --device-id d-1 --data-dir ./agent-d-1 --username d-1 --password PASSWORD`,
        ]}
      >
        <p>
          Devices appear here as soon as their agent connects. To see a live fleet at once, restart Outpost with{' '}
          <code>--demo</code> (five simulated devices and a sample model). To add a real device, enroll it, then run the
          agent on it with the password that <code>enroll</code> printed:
        </p>
      </EmptyState>
    )
  }

  return (
    <div className="fleet-page">
      <div className="fleet-main">
        {loadError && <ErrorNotice error={loadError} onRetry={() => void loadDevices()} />}
        <div className="toolbar" role="search">
          <label>
            Search{' '}
            <input
              type="search"
              aria-label="Search devices by id"
              data-testid="device-search"
              value={search}
              onChange={(event) => setSearch(event.target.value)}
            />
          </label>
          <label>
            Status{' '}
            <select
              data-testid="device-status-filter"
              value={statusFilter}
              onChange={(event) => setStatusFilter(event.target.value as StatusFilter)}
            >
              <option value="all">All</option>
              <option value="online">Online</option>
              <option value="offline">Offline</option>
            </select>
          </label>
          <span className="muted" role="status">
            Showing {visible.length} of {all.length}
          </span>
        </div>
        {visible.length === 0 ? (
          <div className="empty-state" data-testid="no-matches">
            <p>No device matches these filters.</p>
            <button
              type="button"
              onClick={() => {
                setSearch('')
                setStatusFilter('all')
              }}
            >
              Clear filters
            </button>
          </div>
        ) : (
          <DeviceTable
            devices={visible}
            selectedDeviceId={selected?.deviceId ?? null}
            nowMs={nowMs}
            onOpen={(deviceId) => selectDevice(deviceId)}
          />
        )}
      </div>
      {selected && (
        <DeviceDetail
          device={selected}
          nowMs={nowMs}
          onClose={() => {
            selectDevice(null)
            // Give focus back to the row the panel was opened from, so keyboard users keep their place.
            document.querySelector<HTMLElement>(`[data-testid="device-row-${selected.deviceId}"]`)?.focus()
          }}
        />
      )}
    </div>
  )
}

import type { KeyboardEvent } from 'react'
import type { DeviceSummary } from '../../../src-shared/domain/device.ts'
import type { DeviceId } from '../../../src-shared/domain/ids.ts'
import { StatusBadge } from '../../components/StatusBadge.tsx'
import { EMPTY_CELL, formatLatency, formatRelative } from '../../lib/format.ts'
import { InstallCell } from './InstallCell.tsx'

export function modelLabel(device: DeviceSummary): string {
  return device.activeModel ? `${device.activeModel.name}@${device.activeModel.version}` : EMPTY_CELL
}

interface DeviceTableProps {
  devices: DeviceSummary[]
  selectedDeviceId: DeviceId | null
  nowMs: number
  onOpen: (deviceId: DeviceId) => void
}

export function DeviceTable({ devices, selectedDeviceId, nowMs, onOpen }: DeviceTableProps) {
  const openOnKey = (event: KeyboardEvent, deviceId: DeviceId) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault()
      onOpen(deviceId)
    }
  }
  return (
    <table className="table device-table" data-testid="device-table">
      <thead>
        <tr>
          <th scope="col">Device</th>
          <th scope="col">Status</th>
          <th scope="col">Model</th>
          <th scope="col">Install</th>
          <th scope="col">Provider</th>
          <th scope="col">Latency</th>
          <th scope="col">Last seen</th>
        </tr>
      </thead>
      <tbody>
        {devices.map((device) => (
          <tr
            key={device.deviceId}
            data-testid={`device-row-${device.deviceId}`}
            className={device.deviceId === selectedDeviceId ? 'clickable selected' : 'clickable'}
            tabIndex={0}
            aria-current={device.deviceId === selectedDeviceId ? 'true' : undefined}
            onClick={() => onOpen(device.deviceId)}
            onKeyDown={(event) => openOnKey(event, device.deviceId)}
          >
            <th scope="row" className="device-id">
              {device.deviceId}
            </th>
            <td>
              <StatusBadge isOnline={device.isOnline} testId="device-status" />
            </td>
            <td data-testid="device-model">{modelLabel(device)}</td>
            <td data-testid="device-install">
              <InstallCell install={device.install} />
            </td>
            <td data-testid="device-ep">{device.executionProvider ?? EMPTY_CELL}</td>
            <td data-testid="device-latency" className="numeric">
              {formatLatency(device.latency)}
            </td>
            <td data-testid="device-last-seen">{formatRelative(device.lastSeenAt, nowMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

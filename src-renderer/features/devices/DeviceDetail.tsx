import { useEffect, useRef } from 'react'
import type { DeviceSummary } from '../../../src-shared/domain/device.ts'
import { StatusBadge } from '../../components/StatusBadge.tsx'
import { describeReportedCode } from '../../lib/errorMessages.ts'
import { EMPTY_CELL, formatBytes, formatMs, formatPercent, formatRelative } from '../../lib/format.ts'
import { modelLabel } from './DeviceTable.tsx'

interface DeviceDetailProps {
  device: DeviceSummary
  nowMs: number
  onClose: () => void
}

/** Everything the agent reported about one device. Escape or the close button returns to the table. */
export function DeviceDetail({ device, nowMs, onClose }: DeviceDetailProps) {
  const closeRef = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    // Move focus into the panel so keyboard users land where the content appeared.
    closeRef.current?.focus()
  }, [device.deviceId])
  const { hardware, install, latency } = device
  const installError = install.errorCode === null ? null : describeReportedCode(install.errorCode)
  return (
    <aside
      className="detail-panel"
      aria-label={`Device ${device.deviceId}`}
      data-testid="device-detail"
      onKeyDown={(event) => {
        if (event.key === 'Escape') onClose()
      }}
    >
      <div className="detail-heading">
        <h2>{device.deviceId}</h2>
        <StatusBadge isOnline={device.isOnline} />
        <button ref={closeRef} type="button" className="close" aria-label="Close device details" onClick={onClose}>
          ×
        </button>
      </div>

      <section>
        <h3>Status</h3>
        <dl className="facts">
          <dt>Last seen</dt>
          <dd>{formatRelative(device.lastSeenAt, nowMs)}</dd>
          <dt>First seen</dt>
          <dd>{formatRelative(device.firstSeenAt, nowMs)}</dd>
          <dt>Agent version</dt>
          <dd>{device.agentVersion ?? EMPTY_CELL}</dd>
        </dl>
      </section>

      <section>
        <h3>Model</h3>
        <dl className="facts">
          <dt>Running</dt>
          <dd>{modelLabel(device)}</dd>
          {device.activeModel && (
            <>
              <dt>Model id</dt>
              <dd>
                <code>{device.activeModel.modelId}</code>
              </dd>
            </>
          )}
          {device.desiredModelId !== null && device.desiredModelId !== device.activeModel?.modelId && (
            <>
              <dt>Assigned</dt>
              <dd>
                <code>{device.desiredModelId}</code>
              </dd>
            </>
          )}
          <dt>Install</dt>
          <dd data-testid="detail-install">
            {install.state}
            {install.state === 'downloading' && (
              <>
                {' '}
                {formatPercent(install.progress)} <progress max={1} value={install.progress} aria-label="Download progress" />
              </>
            )}
          </dd>
          <dt>Execution provider</dt>
          <dd>{device.executionProvider ?? EMPTY_CELL}</dd>
        </dl>
        {install.errorCode !== null && (
          <div className="error-notice" role="note" data-testid="detail-install-error" data-error-code={install.errorCode}>
            <p className="error-summary">
              <strong>{installError?.summary ?? 'The device reported an install error.'}</strong>{' '}
              <code className="error-code">{install.errorCode}</code>
            </p>
            {install.message && <p className="error-detail">{install.message}</p>}
            {installError && <p className="error-action">{installError.action}</p>}
          </div>
        )}
      </section>

      <section>
        <h3>Latency</h3>
        {latency && latency.requestCount > 0 ? (
          <dl className="facts" data-testid="detail-latency">
            <dt>p50</dt>
            <dd>{formatMs(latency.p50Ms)}</dd>
            <dt>p95</dt>
            <dd>{formatMs(latency.p95Ms)}</dd>
            <dt>p99</dt>
            <dd>{formatMs(latency.p99Ms)}</dd>
            <dt>Requests</dt>
            <dd>{latency.requestCount}</dd>
            <dt>Errors</dt>
            <dd>{latency.errorCount}</dd>
            <dt>Window ended</dt>
            <dd>{formatRelative(latency.windowEndAt, nowMs)}</dd>
          </dl>
        ) : (
          <p className="muted">No inference reported yet. Deploy a model to see its latency here.</p>
        )}
      </section>

      <section>
        <h3>Execution providers</h3>
        {device.executionProviders.length === 0 ? (
          <p className="muted">Not reported yet.</p>
        ) : (
          <ul className="ep-list" data-testid="detail-eps">
            {device.executionProviders.map((provider) => (
              <li key={provider.name}>
                <span className={provider.isAvailable ? 'ep-available' : 'ep-unavailable'}>
                  {provider.isAvailable ? 'available' : 'unavailable'}
                </span>{' '}
                <strong>{provider.name}</strong>
                {provider.reason && <span className="muted"> — {provider.reason}</span>}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section>
        <h3>Hardware</h3>
        {hardware ? (
          <>
            <dl className="facts" data-testid="detail-hardware">
              <dt>Host name</dt>
              <dd>{hardware.hostname}</dd>
              <dt>OS</dt>
              <dd>
                {hardware.platform} {hardware.osRelease} ({hardware.arch})
              </dd>
              <dt>CPU</dt>
              <dd>
                {hardware.cpuModel} × {hardware.cpuCount}
              </dd>
              <dt>Memory</dt>
              <dd>{formatBytes(hardware.memoryBytes)}</dd>
            </dl>
            <h4>Accelerators</h4>
            {hardware.accelerators.length === 0 ? (
              <p className="muted">None seen (no /dev/nvidia*, /dev/dri, /dev/accel* or /dev/apex_* devices).</p>
            ) : (
              <ul data-testid="detail-accelerators">
                {hardware.accelerators.map((accelerator) => (
                  <li key={accelerator}>
                    <code>{accelerator}</code>
                  </li>
                ))}
              </ul>
            )}
          </>
        ) : (
          <p className="muted">The agent has not announced its hardware yet.</p>
        )}
      </section>
    </aside>
  )
}

import { useState } from 'react'
import type { RolloutDetail, RolloutDevice } from '../../../src-shared/domain/rollout.ts'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { useAppStore } from '../../store/StoreContext.tsx'
import { DryRunPreview } from './DryRunPreview.tsx'
import { WaveTimeline } from './WaveTimeline.tsx'

const MAX_DEVICE_ROWS = 200

/** Saves text as a file through the browser (works the same in the Electron window). */
function download(fileName: string, content: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }))
  const link = document.createElement('a')
  link.href = url
  link.download = fileName
  link.click()
  URL.revokeObjectURL(url)
}

function latencyCell(row: RolloutDevice): string {
  if (row.p95Ms === null) return row.baselineP95Ms === null ? '—' : `${row.baselineP95Ms.toFixed(1)} ms before`
  return `${row.baselineP95Ms === null ? '?' : row.baselineP95Ms.toFixed(1)} → ${row.p95Ms.toFixed(1)} ms`
}

function DeviceRows({ devices }: { devices: RolloutDevice[] }) {
  const [status, setStatus] = useState('all')
  const shown = devices.filter((row) => status === 'all' || row.status === status)
  const statuses = [...new Set(devices.map((row) => row.status))]
  return (
    <section className="panel" aria-labelledby="rollout-devices-heading">
      <h3 id="rollout-devices-heading">Devices</h3>
      <label>
        Show{' '}
        <select value={status} onChange={(event) => setStatus(event.target.value)} aria-label="Device status filter">
          <option value="all">all ({devices.length})</option>
          {statuses.map((value) => (
            <option key={value} value={value}>
              {value} ({devices.filter((row) => row.status === value).length})
            </option>
          ))}
        </select>
      </label>
      <table className="table">
        <thead>
          <tr>
            <th>Device</th>
            <th>Wave</th>
            <th>Variant</th>
            <th>State</th>
            <th>Code / note</th>
            <th className="numeric">Attempts</th>
            <th>p95</th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, MAX_DEVICE_ROWS).map((row) => (
            <tr key={row.deviceId} data-testid={`rollout-device-${row.deviceId}`}>
              <td>{row.deviceId}</td>
              <td>{row.wave === null ? '—' : row.wave + 1}</td>
              <td>{row.variant ?? '—'}</td>
              <td data-testid="rollout-device-state">{row.status}</td>
              <td>{[row.errorCode, row.note].filter((part) => part !== null).join(': ') || '—'}</td>
              <td className="numeric">{row.attempt}</td>
              <td>{latencyCell(row)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length > MAX_DEVICE_ROWS && <p className="muted">{shown.length - MAX_DEVICE_ROWS} more; export the report for all of them.</p>}
    </section>
  )
}

/** One rollout: its state, the operator's actions, the wave timeline with gate values, and every device. */
export function RolloutDetailPanel({ detail }: { detail: RolloutDetail }) {
  const [reason, setReason] = useState('')
  const action = useAppStore((state) => state.rolloutAction)
  const dryRun = useAppStore((state) => state.dryRun)
  const actOnRollout = useAppStore((state) => state.actOnRollout)
  const abortRollout = useAppStore((state) => state.abortRollout)
  const rollBackRollout = useAppStore((state) => state.rollBackRollout)
  const runDryRun = useAppStore((state) => state.runDryRun)
  const fetchRolloutReport = useAppStore((state) => state.fetchRolloutReport)
  const id = detail.rolloutId
  const isBusy = action.status === 'running'
  const hasReason = reason.trim() !== ''
  const status = detail.status
  const canAbort = status !== 'completed' && status !== 'aborted'
  const canRollBack = status !== 'draft' && !(status === 'aborted' && detail.abortMode === 'rollback')

  const exportReport = async (format: 'json' | 'csv') => {
    const report = await fetchRolloutReport(id, format)
    if (report) download(report.fileName, report.content, format === 'csv' ? 'text/csv' : 'application/json')
  }
  const outcomes = Object.entries(detail.outcomes).filter(([, count]) => count > 0)

  return (
    <div data-testid="rollout-detail">
      <section className="panel" aria-labelledby="rollout-heading">
        <h2 id="rollout-heading">
          {detail.spec.name}{' '}
          <span className={`badge rollout-${status}`} data-testid="rollout-state">
            {status}
          </span>
        </h2>
        <p className="muted">
          {detail.rolloutId} · {detail.spec.release.variants.map((variant) => `${variant.name} = ${variant.modelId}`).join(', ')} · created by {detail.createdBy}
        </p>
        {detail.haltReasons.length > 0 && (
          <p className="error-detail" data-testid="rollout-halt-reasons">
            Halted by the gate: {detail.haltReasons.join(', ')}
            {detail.spec.onBreach === 'halt-and-rollback' ? '; the wave was rolled back.' : '.'}
          </p>
        )}
        <p data-testid="rollout-outcomes">{outcomes.map(([outcome, count]) => `${outcome}: ${count}`).join(' · ') || 'no devices'}</p>
        <div className="toolbar">
          {status === 'draft' && (
            <>
              <button type="button" className="primary" data-testid="rollout-start" disabled={isBusy} onClick={() => void actOnRollout('start', id)}>
                Start
              </button>
              <button type="button" data-testid="rollout-dry-run-stored" disabled={dryRun.status === 'running'} onClick={() => void runDryRun({ rolloutId: id, simulation: {} })}>
                Dry run on the current fleet
              </button>
            </>
          )}
          {(status === 'running' || status === 'waiting-approval') && (
            <button type="button" data-testid="rollout-pause" disabled={isBusy} onClick={() => void actOnRollout('pause', id)}>
              Pause
            </button>
          )}
          {status === 'paused' && (
            <button type="button" className="primary" data-testid="rollout-resume" disabled={isBusy} onClick={() => void actOnRollout('resume', id)}>
              Resume
            </button>
          )}
          {status === 'waiting-approval' && (
            <button type="button" className="primary" data-testid="rollout-approve" disabled={isBusy} onClick={() => void actOnRollout('approve', id)}>
              Approve wave {(detail.currentWave ?? 0) + 1}
            </button>
          )}
          {(status === 'halted' || status === 'running' || status === 'completed') && (detail.outcomes.failed ?? 0) > 0 && (
            <button type="button" data-testid="rollout-retry" disabled={isBusy} onClick={() => void actOnRollout('retry', id)}>
              Retry failed devices
            </button>
          )}
          <button type="button" onClick={() => void exportReport('json')}>
            Export JSON
          </button>
          <button type="button" onClick={() => void exportReport('csv')}>
            Export CSV
          </button>
        </div>
        {(canAbort || canRollBack) && (
          <div className="toolbar">
            <label>
              Why <input data-testid="rollout-reason" value={reason} placeholder="required to abort or roll back" onChange={(event) => setReason(event.target.value)} />
            </label>
            {canAbort && (
              <>
                <button type="button" data-testid="rollout-abort-keep" disabled={isBusy || !hasReason} onClick={() => void abortRollout(id, 'keep', reason)}>
                  Abort, keep switched devices
                </button>
                {status !== 'draft' && (
                  <button type="button" data-testid="rollout-abort-rollback" disabled={isBusy || !hasReason} onClick={() => void abortRollout(id, 'rollback', reason)}>
                    Abort and roll back
                  </button>
                )}
              </>
            )}
            {canRollBack && (
              <button type="button" data-testid="rollout-rollback" disabled={isBusy || !hasReason} onClick={() => void rollBackRollout(id, status === 'completed' || status === 'aborted' ? 'all' : 'wave', reason)}>
                {status === 'completed' || status === 'aborted' ? 'Roll back every device' : 'Roll back this wave'}
              </button>
            )}
          </div>
        )}
        {action.status === 'failed' && action.verb !== 'create' && <ErrorNotice error={action.error} />}
        {status === 'draft' && dryRun.status === 'done' && <DryRunPreview result={dryRun.result} />}
        {status === 'draft' && dryRun.status === 'failed' && <ErrorNotice error={dryRun.error} />}
      </section>
      <WaveTimeline detail={detail} />
      <DeviceRows devices={detail.devices} />
    </div>
  )
}

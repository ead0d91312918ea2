import type { DeviceDriftDetail, WindowDetail } from '../../../src-shared/domain/drift.ts'
import { EMPTY_CELL, formatMs } from '../../lib/format.ts'
import { DriftSeriesChart } from './charts.tsx'
import { formatBucket, formatScore, formatShare, heatColor } from './dashboardData.ts'

interface DeviceDrilldownProps {
  detail: DeviceDriftDetail
  windowDetail: WindowDetail | null
  threshold: number
  onSelectWindow: (reportSeq: number) => void
  onClose: () => void
}

/** One device of the release: verdict per feature, drift over time, its newest windows and one window's cells. */
export function DeviceDrilldown({ detail, windowDetail, threshold, onSelectWindow, onClose }: DeviceDrilldownProps) {
  const series = detail.series.map((point) => ({ bucket: formatBucket(point.bucketStartAt, 'hour'), share: point.driftShare }))
  return (
    <section className="dashboard-panel drilldown" data-testid="device-drilldown" aria-label={`Drift of device ${detail.deviceId}`}>
      <div className="detail-heading">
        <h2>{detail.deviceId}</h2>
        {detail.tags.length > 0 && <span className="muted">tags: {detail.tags.join(', ')}</span>}
        <button type="button" className="close" aria-label="Close the device drill-down" onClick={onClose}>
          ×
        </button>
      </div>
      {detail.row === null ? (
        <p className="muted">No drift counts from this device in the range.</p>
      ) : (
        <p data-testid="drilldown-verdict">
          <span className={`verdict verdict-${detail.row.verdict}`}>{detail.row.verdict}</span>: {detail.row.driftShare === null ? EMPTY_CELL : formatShare(detail.row.driftShare)} of
          its features drift ({detail.row.cells[0]?.sampleCount ?? 0} samples)
        </p>
      )}
      {series.length > 1 && <DriftSeriesChart points={series} />}
      <h3>Newest windows</h3>
      <table className="table compact" data-testid="drilldown-windows">
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">Start</th>
            <th scope="col">Requests</th>
            <th scope="col">p95</th>
            <th scope="col">Samples</th>
            <th scope="col">Drift share</th>
            <th scope="col" />
          </tr>
        </thead>
        <tbody>
          {detail.windows.map((window) => (
            <tr key={window.reportSeq} data-testid={`window-row-${window.reportSeq}`}>
              <td>{window.reportSeq}</td>
              <td>{window.windowStartAt.slice(11, 19)}</td>
              <td>{window.requestCount}</td>
              <td>{formatMs(window.p95Ms)}</td>
              <td>{window.sampleCount}</td>
              <td>{window.driftShare === null ? EMPTY_CELL : `${formatShare(window.driftShare)} (${window.verdict})`}</td>
              <td>
                <button type="button" onClick={() => onSelectWindow(window.reportSeq)}>
                  Open
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {windowDetail && (
        <section data-testid="window-detail">
          <h3>
            Window {windowDetail.window.reportSeq} ({windowDetail.window.windowStartAt} .. {windowDetail.window.windowEndAt})
          </h3>
          <ul className="window-cells">
            {windowDetail.cells.map((cell) => (
              <li key={cell.feature} style={{ background: heatColor(cell.score, threshold, cell.verdict) }} title={`${cell.sampleCount} samples, ${cell.verdict}`}>
                {cell.feature} {formatScore(cell.score)}
              </li>
            ))}
          </ul>
          {windowDetail.cells.length > 0 && windowDetail.window.verdict === 'insufficient' && (
            <p className="muted">One window alone has too few samples for a verdict; the heatmap judges the whole range.</p>
          )}
        </section>
      )}
    </section>
  )
}

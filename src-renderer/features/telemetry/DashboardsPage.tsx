import { useEffect } from 'react'
import { DriftGrouping } from '../../../src-shared/domain/drift.ts'
import { EmptyState } from '../../components/EmptyState.tsx'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { useNow } from '../../lib/useNow.ts'
import { loadErrorOf } from '../../store/loadState.ts'
import { useAppStore } from '../../store/StoreContext.tsx'
import { LatencyChart, OverlayChart, PredictionChart } from './charts.tsx'
import { DeviceDrilldown } from './DeviceDrilldown.tsx'
import { DriftHeatmap } from './DriftHeatmap.tsx'
import { FleetOverviewPanel } from './FleetOverviewPanel.tsx'
import { RANGE_CHOICES, type RangeChoice } from './telemetrySlice.ts'
import './dashboards.css'

const GROUPING_LABELS: Record<DriftGrouping, string> = {
  device: 'Device',
  tag: 'Tag (site, customer…)',
  arch: 'CPU architecture',
  executionProvider: 'Execution provider',
  modelVersion: 'Model version',
}

/** Fleet overview, latency percentiles, the drift heatmap with its overlay and drill-down, prediction distribution. */
export function DashboardsPage() {
  const load = useAppStore((state) => state.dashboardsLoad)
  const loadDashboards = useAppStore((state) => state.loadDashboards)
  const references = useAppStore((state) => state.references)
  const release = useAppStore((state) => state.dashboardRelease)
  const range = useAppStore((state) => state.dashboardRange)
  const grouping = useAppStore((state) => state.dashboardGrouping)
  const overview = useAppStore((state) => state.overview)
  const latency = useAppStore((state) => state.latency)
  const heatmap = useAppStore((state) => state.heatmap)
  const overlay = useAppStore((state) => state.overlay)
  const predictions = useAppStore((state) => state.predictions)
  const selection = useAppStore((state) => state.heatmapSelection)
  const deviceDetail = useAppStore((state) => state.deviceDetail)
  const windowDetail = useAppStore((state) => state.windowDetail)
  const setRelease = useAppStore((state) => state.setDashboardRelease)
  const setRange = useAppStore((state) => state.setDashboardRange)
  const setGrouping = useAppStore((state) => state.setDashboardGrouping)
  const selectCell = useAppStore((state) => state.selectHeatmapCell)
  const selectWindow = useAppStore((state) => state.selectWindow)
  const closeDrilldown = useAppStore((state) => state.closeDrilldown)
  const nowMs = useNow()
  const loadError = loadErrorOf(load)

  useEffect(() => {
    void loadDashboards()
  }, [loadDashboards])

  return (
    <div className="dashboards-page" data-testid="dashboards-page">
      <div className="toolbar" role="group" aria-label="Dashboard filters">
        <label>
          Release{' '}
          <select data-testid="dashboard-release" value={release ?? ''} disabled={references.length === 0} onChange={(event) => void setRelease(event.target.value)}>
            {references.length === 0 && <option value="">No reference bins registered</option>}
            {references.map((reference) => (
              <option key={reference.modelSha256} value={reference.modelSha256}>
                {reference.label} ({reference.modelSha256.slice(0, 8)})
              </option>
            ))}
          </select>
        </label>
        <label>
          Range{' '}
          <select data-testid="dashboard-range" value={range} onChange={(event) => void setRange(event.target.value as RangeChoice)}>
            {Object.entries(RANGE_CHOICES).map(([value, choice]) => (
              <option key={value} value={value}>
                {choice.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Rows{' '}
          <select data-testid="dashboard-grouping" value={grouping} onChange={(event) => void setGrouping(DriftGrouping.parse(event.target.value))}>
            {DriftGrouping.options.map((option) => (
              <option key={option} value={option}>
                {GROUPING_LABELS[option]}
              </option>
            ))}
          </select>
        </label>
        {load === 'loading' && (
          <span className="muted" role="status">
            Loading…
          </span>
        )}
      </div>
      {loadError && <ErrorNotice error={loadError} onRetry={() => void loadDashboards()} />}
      {overview && <FleetOverviewPanel overview={overview} nowMs={nowMs} />}
      <div className="dashboard-grid">
        {latency && <LatencyChart series={latency} selectedModelSha256={release} />}
        {predictions && <PredictionChart series={predictions} />}
      </div>
      {load === 'ready' && references.length === 0 && (
        <EmptyState title="No drift reference yet">
          <p>
            Drift compares what devices see with the reference bins signed into a release (the manifest's <code>drift</code>). Register them with{' '}
            <code>drift.registerReference</code> (or import a release that carries them); devices then send counts in those bins with every telemetry window.
          </p>
        </EmptyState>
      )}
      {heatmap && (
        <section className="dashboard-panel" aria-label="Drift heatmap">
          <h2>Drift · {heatmap.releaseLabel}</h2>
          {heatmap.rows.length === 0 ? (
            <p className="muted" data-testid="heatmap-empty">
              No drift counts in this range yet.
            </p>
          ) : (
            <DriftHeatmap heatmap={heatmap} selection={selection} onSelect={(next) => void selectCell(next)} />
          )}
        </section>
      )}
      <div className="dashboard-grid">
        {overlay && <OverlayChart overlay={overlay} />}
        {deviceDetail && heatmap && (
          <DeviceDrilldown
            detail={deviceDetail}
            windowDetail={windowDetail}
            threshold={heatmap.threshold}
            onSelectWindow={(reportSeq) => void selectWindow(deviceDetail.deviceId, reportSeq)}
            onClose={closeDrilldown}
          />
        )}
      </div>
    </div>
  )
}

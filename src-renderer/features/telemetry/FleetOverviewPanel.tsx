import type { Alert, CountByName, FleetOverview } from '../../../src-shared/domain/drift.ts'
import { EMPTY_CELL, formatRelative } from '../../lib/format.ts'

function CountList({ title, counts, testId }: { title: string; counts: readonly CountByName[]; testId: string }) {
  return (
    <section>
      <h3>{title}</h3>
      <ul className="count-list" data-testid={testId}>
        {counts.map((entry) => (
          <li key={entry.name ?? ''}>
            <span>{entry.name ?? EMPTY_CELL}</span>{' '}
            <span className="muted">
              {entry.deviceCount} ({entry.onlineCount} online)
            </span>
          </li>
        ))}
      </ul>
    </section>
  )
}

function AlertItem({ alert, nowMs }: { alert: Alert; nowMs: number }) {
  return (
    <li className={alert.clearedAt === null ? 'alert-active' : 'alert-cleared'} data-testid={`alert-row-${alert.alertId}`}>
      <strong>{alert.kind}</strong> on <code>{alert.deviceId}</code>: {alert.detail}{' '}
      <span className="muted">
        {formatRelative(alert.raisedAt, nowMs)}
        {alert.clearedAt !== null && `, cleared ${formatRelative(alert.clearedAt, nowMs)}`}
      </span>
    </li>
  )
}

/** Online devices, running versions, execution providers, architectures, alerts and the last hour's traffic. */
export function FleetOverviewPanel({ overview, nowMs }: { overview: FleetOverview; nowMs: number }) {
  return (
    <section className="dashboard-panel" data-testid="fleet-overview" aria-label="Fleet overview">
      <div className="stat-tiles">
        <div className="stat-tile">
          <span className="stat-value" data-testid="overview-online">
            {overview.onlineCount}/{overview.deviceCount}
          </span>
          <span className="stat-label">devices online</span>
        </div>
        <div className="stat-tile">
          <span className="stat-value" data-testid="overview-active-alerts">
            {overview.activeAlertCount}
          </span>
          <span className="stat-label">active alerts</span>
        </div>
        <div className="stat-tile">
          <span className="stat-value">{overview.lastHour.windowCount}</span>
          <span className="stat-label">windows in the last hour</span>
        </div>
        <div className="stat-tile">
          <span className="stat-value">{overview.lastHour.requestCount}</span>
          <span className="stat-label">requests ({overview.lastHour.errorCount} errors)</span>
        </div>
      </div>
      <div className="overview-lists">
        <CountList title="Versions" counts={overview.versions} testId="overview-versions" />
        <CountList title="Execution providers" counts={overview.executionProviders} testId="overview-eps" />
        <CountList title="Architectures" counts={overview.arches} testId="overview-arches" />
      </div>
      <section>
        <h3>Alerts</h3>
        {overview.alerts.length === 0 ? (
          <p className="muted">No alerts. One is raised when drift or p95 latency stays over its threshold for consecutive windows.</p>
        ) : (
          <ul className="alert-list" data-testid="alert-list">
            {overview.alerts.map((alert) => (
              <AlertItem key={alert.alertId} alert={alert} nowMs={nowMs} />
            ))}
          </ul>
        )}
      </section>
    </section>
  )
}

import { useShallow } from 'zustand/react/shallow'
import { useAppStore } from '../store/StoreContext.tsx'
import { selectFleetCounts } from '../store/selectors.ts'
import type { Page } from '../store/uiSlice.ts'

const pageTitle: Record<Page, string> = { fleet: 'Fleet', models: 'Models', releases: 'Releases', rollouts: 'Rollouts', drift: 'Dashboards' }

export function Header() {
  const page = useAppStore((state) => state.page)
  const connection = useAppStore((state) => state.connection)
  const info = useAppStore((state) => state.info)
  const counts = useAppStore(useShallow(selectFleetCounts))
  return (
    <header className="header">
      <h1>{pageTitle[page]}</h1>
      <dl className="header-facts">
        <div>
          <dt>Connection</dt>
          <dd>
            <span className={`badge connection-${connection.status}`} data-testid="connection-state">
              {connection.status}
            </span>
          </dd>
        </div>
        {info && (
          <>
            <div>
              <dt>Host</dt>
              <dd data-testid="host-mode">{info.host}</dd>
            </div>
            <div>
              <dt>Broker</dt>
              <dd>
                <code data-testid="broker-url">{info.brokerUrl}</code>
                {info.brokerKind === 'embedded' && <span className="muted"> (embedded)</span>}
              </dd>
            </div>
          </>
        )}
        <div>
          <dt>Devices</dt>
          <dd data-testid="fleet-counts">
            {counts.total} total · {counts.online} online · {counts.offline} offline
          </dd>
        </div>
      </dl>
    </header>
  )
}

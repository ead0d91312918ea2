import { useEffect } from 'react'
import { unreachable } from '../src-shared/errors.ts'
import { ConnectionBanner } from './components/ConnectionBanner.tsx'
import { Header } from './components/Header.tsx'
import { Nav } from './components/Nav.tsx'
import { FleetPage } from './features/devices/FleetPage.tsx'
import { ModelsPage } from './features/models/ModelsPage.tsx'
import { ReleasesPage } from './features/releases/ReleasesPage.tsx'
import { RolloutsPage } from './features/rollouts/RolloutsPage.tsx'
import { DashboardsPage } from './features/telemetry/DashboardsPage.tsx'
import { useAppStore } from './store/StoreContext.tsx'
import type { Page } from './store/uiSlice.ts'

function PageContent({ page }: { page: Page }) {
  switch (page) {
    case 'fleet':
      return <FleetPage />
    case 'models':
      return <ModelsPage />
    case 'releases':
      return <ReleasesPage />
    case 'rollouts':
      return <RolloutsPage />
    case 'drift':
      return <DashboardsPage />
    default:
      return unreachable(page)
  }
}

export function App() {
  const page = useAppStore((state) => state.page)
  const theme = useAppStore((state) => state.theme)
  useEffect(() => {
    // No data-theme means 'system': the stylesheet then follows prefers-color-scheme.
    if (theme === 'system') delete document.documentElement.dataset.theme
    else document.documentElement.dataset.theme = theme
  }, [theme])
  return (
    <div className="app">
      <Nav />
      <div className="main-column">
        <Header />
        <ConnectionBanner />
        <main className="page" id="main">
          <PageContent page={page} />
        </main>
      </div>
    </div>
  )
}

import { useAppStore } from '../store/StoreContext.tsx'
import type { Page } from '../store/uiSlice.ts'
import { ThemeToggle } from './ThemeToggle.tsx'

const links: { page: Page; label: string }[] = [
  { page: 'fleet', label: 'Fleet' },
  { page: 'models', label: 'Models' },
  { page: 'releases', label: 'Releases' },
  { page: 'rollouts', label: 'Rollouts' },
  { page: 'drift', label: 'Dashboards' },
]

export function Nav() {
  const page = useAppStore((state) => state.page)
  const navigate = useAppStore((state) => state.navigate)
  return (
    <nav className="nav" aria-label="Pages">
      <div className="brand">Outpost</div>
      <ul>
        {links.map((link) => (
          <li key={link.page}>
            <button
              type="button"
              className="nav-link"
              data-testid={`nav-${link.page}`}
              aria-current={page === link.page ? 'page' : undefined}
              onClick={() => navigate(link.page)}
            >
              {link.label}
            </button>
          </li>
        ))}
      </ul>
      <div className="nav-footer">
        <ThemeToggle />
      </div>
    </nav>
  )
}

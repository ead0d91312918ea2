import { useAppStore } from '../store/StoreContext.tsx'
import type { ThemePreference } from '../store/uiSlice.ts'

const nextTheme: Record<ThemePreference, ThemePreference> = { system: 'light', light: 'dark', dark: 'system' }
const themeLabel: Record<ThemePreference, string> = { system: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' }

/** Cycles system → light → dark; the choice is remembered in localStorage by the ui slice. */
export function ThemeToggle() {
  const theme = useAppStore((state) => state.theme)
  const setTheme = useAppStore((state) => state.setTheme)
  return (
    <button type="button" className="theme-toggle" data-testid="theme-toggle" onClick={() => setTheme(nextTheme[theme])}>
      {themeLabel[theme]}
    </button>
  )
}

/** Picks the per-user data directory from the environment. Pure: the caller passes env, platform and home in. */

export type Environment = Readonly<Record<string, string | undefined>>

/**
 * OUTPOST_DATA_DIR wins; otherwise the platform's per-user data location:
 * Linux and other Unixes `$XDG_DATA_HOME/outpost` (XDG Base Directory spec: only an absolute XDG_DATA_HOME counts)
 * or `~/.local/share/outpost`; macOS `~/Library/Application Support/Outpost`; Windows `%APPDATA%\Outpost`.
 */
export function resolveDefaultDataDir(env: Environment, platform: string, homedir: string): string {
  const override = env['OUTPOST_DATA_DIR']?.trim()
  if (override) return override
  if (platform === 'win32') {
    const appData = env['APPDATA']?.trim()
    const base = appData ? appData : `${trimTrailing(homedir, /[\\/]+$/)}\\AppData\\Roaming`
    return `${trimTrailing(base, /[\\/]+$/)}\\Outpost`
  }
  const home = trimTrailing(homedir, /\/+$/)
  if (platform === 'darwin') return `${home}/Library/Application Support/Outpost`
  const xdgDataHome = env['XDG_DATA_HOME']?.trim()
  if (xdgDataHome && xdgDataHome.startsWith('/')) return `${trimTrailing(xdgDataHome, /\/+$/)}/outpost`
  return `${home}/.local/share/outpost`
}

function trimTrailing(path: string, separators: RegExp): string {
  const trimmed = path.replace(separators, '')
  return trimmed === '' ? path.slice(0, 1) : trimmed
}

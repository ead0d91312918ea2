/** sessionStorage key: the token survives reloads of this tab but never reaches another tab or the disk. */
export const ACCESS_TOKEN_STORAGE_KEY = 'outpost.token'

export interface TokenSources {
  location: Pick<Location, 'hash' | 'pathname' | 'search'>
  history: Pick<History, 'replaceState' | 'state'>
  storage: Pick<Storage, 'getItem' | 'setItem'> | null
}

/**
 * Reads the headless access token. `outpost serve` prints `http://HOST:PORT/#token=TOKEN`: the fragment never
 * reaches the server's logs, and we remove it from the address bar at once so it is not shared in screenshots.
 */
export function takeAccessToken({ location, history, storage }: TokenSources): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''))
  const fromHash = params.get('token')
  if (fromHash) {
    safely(() => storage?.setItem(ACCESS_TOKEN_STORAGE_KEY, fromHash))
    params.delete('token')
    const rest = params.toString()
    history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`)
    return fromHash
  }
  return safely(() => storage?.getItem(ACCESS_TOKEN_STORAGE_KEY)) ?? null
}

/** Storage throws when the browser blocks it (privacy settings); the token then lives only in this page load. */
function safely<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}

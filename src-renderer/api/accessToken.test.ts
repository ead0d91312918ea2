import { describe, expect, it } from 'vitest'
import { ACCESS_TOKEN_STORAGE_KEY, takeAccessToken } from './accessToken.ts'

function sources(hash: string, stored: Record<string, string> = {}) {
  const storage = new Map(Object.entries(stored))
  const replaced: string[] = []
  return {
    storage,
    replaced,
    input: {
      location: { hash, pathname: '/', search: '' },
      history: { state: null, replaceState: (_state: unknown, _title: string, url?: string | URL | null) => void replaced.push(String(url)) },
      storage: { getItem: (key: string) => storage.get(key) ?? null, setItem: (key: string, value: string) => void storage.set(key, value) },
    },
  }
}

describe('takeAccessToken', () => {
  it('takes the token from the URL fragment, stores it for this tab and removes it from the address bar', () => {
    const { input, storage, replaced } = sources('#token=abc123')
    expect(takeAccessToken(input)).toBe('abc123')
    expect(storage.get(ACCESS_TOKEN_STORAGE_KEY)).toBe('abc123')
    expect(replaced).toEqual(['/'])
  })

  it('keeps other fragment parameters', () => {
    const { input, replaced } = sources('#token=abc&device=d-1')
    takeAccessToken(input)
    expect(replaced).toEqual(['/#device=d-1'])
  })

  it('falls back to the stored token after a reload', () => {
    const { input, replaced } = sources('', { [ACCESS_TOKEN_STORAGE_KEY]: 'kept' })
    expect(takeAccessToken(input)).toBe('kept')
    expect(replaced).toEqual([])
  })

  it('returns null when there is no token anywhere', () => {
    expect(takeAccessToken(sources('').input)).toBeNull()
  })
})

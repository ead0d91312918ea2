import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { createOutpostClient } from './api/outpostClient.ts'
import { App } from './App.tsx'
import { createAppStore } from './store/createAppStore.ts'
import { AppStoreProvider } from './store/StoreContext.tsx'
import { THEME_STORAGE_KEY } from './store/uiSlice.ts'
import { aDevice, aSystemInfo } from './testing/builders.ts'
import { createTestServer } from './testing/createTestServer.ts'
import { renderWithServer } from './testing/renderWithServer.tsx'

afterEach(() => {
  cleanup()
  delete document.documentElement.dataset.theme
})

describe('App', () => {
  it('shows connection, host, broker and fleet counts in the header', async () => {
    renderWithServer(<App />, {
      devices: [aDevice({ deviceId: 'd-1', isOnline: true }), aDevice({ deviceId: 'd-2', isOnline: false })],
      info: aSystemInfo({ host: 'headless', brokerUrl: 'mqtt://127.0.0.1:18830' }),
    })
    expect(screen.getByTestId('connection-state').textContent).toBe('connected')
    expect((await screen.findByTestId('broker-url')).textContent).toBe('mqtt://127.0.0.1:18830')
    expect(screen.getByTestId('host-mode').textContent).toBe('headless')
    await screen.findByTestId('device-row-d-2')
    expect(screen.getByTestId('fleet-counts').textContent).toBe('2 total · 1 online · 1 offline')
  })

  it('switches pages from the navigation', async () => {
    renderWithServer(<App />)
    expect(screen.getByTestId('nav-fleet').getAttribute('aria-current')).toBe('page')
    fireEvent.click(screen.getByTestId('nav-models'))
    expect(screen.getByTestId('nav-models').getAttribute('aria-current')).toBe('page')
    expect(await screen.findByTestId('model-file-input')).toBeTruthy()
    fireEvent.click(screen.getByTestId('nav-fleet'))
    expect(screen.queryByTestId('model-file-input')).toBeNull()
  })

  it('explains a lost connection', () => {
    const server = createTestServer()
    const store = createAppStore(createOutpostClient(server.transport), {
      initialConnection: { status: 'disconnected', reason: 'This page has no access token.', retryInMs: null },
    })
    render(
      <AppStoreProvider store={store}>
        <App />
      </AppStoreProvider>,
    )
    expect(screen.getByTestId('connection-state').textContent).toBe('disconnected')
    expect(screen.getByTestId('connection-banner').textContent).toContain('This page has no access token.')
    server.close()
  })

  it('cycles the theme and remembers the choice', () => {
    const saved = new Map<string, string>([[THEME_STORAGE_KEY, 'dark']])
    const storage = { getItem: (key: string) => saved.get(key) ?? null, setItem: (key: string, value: string) => void saved.set(key, value) }
    const server = createTestServer()
    const store = createAppStore(createOutpostClient(server.transport), { storage })
    render(
      <AppStoreProvider store={store}>
        <App />
      </AppStoreProvider>,
    )
    expect(document.documentElement.dataset.theme).toBe('dark')
    fireEvent.click(screen.getByTestId('theme-toggle'))
    expect(document.documentElement.dataset.theme).toBeUndefined()
    expect(saved.get(THEME_STORAGE_KEY)).toBe('system')
    fireEvent.click(screen.getByTestId('theme-toggle'))
    expect(document.documentElement.dataset.theme).toBe('light')
    server.close()
  })
})

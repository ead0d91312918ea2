import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { aDevice } from '../../testing/builders.ts'
import { renderWithServer } from '../../testing/renderWithServer.tsx'
import { FleetPage } from './FleetPage.tsx'

afterEach(cleanup)

const fleet = [
  aDevice({
    deviceId: 'cam-1',
    isOnline: true,
    executionProvider: 'cpu',
    activeModel: { modelId: 'm-0123456789ab', name: 'tiny-classifier', version: '1.0.0', sha256: 'ab'.repeat(32) },
    install: { state: 'committed', progress: 1, errorCode: null, message: null },
    latency: { p50Ms: 1.234, p95Ms: 2.345, p99Ms: 3.5, requestCount: 120, errorCount: 0, windowEndAt: '2025-01-01T12:00:00.000Z' },
  }),
  aDevice({ deviceId: 'cam-2', isOnline: false, install: { state: 'downloading', progress: 0.42, errorCode: null, message: null } }),
  aDevice({
    deviceId: 'gate-1',
    isOnline: true,
    install: { state: 'failed', progress: 0, errorCode: 'artifact-corrupt', message: 'sha256 mismatch' },
    executionProviders: [
      { name: 'cpu', isAvailable: true },
      { name: 'cuda', isAvailable: false, reason: 'libcudart.so.12 not found' },
    ],
  }),
]

const row = (deviceId: string) => screen.getByTestId(`device-row-${deviceId}`)
const rowIds = () => screen.queryAllByTestId(/^device-row-/).map((element) => element.dataset.testid)

describe('FleetPage', () => {
  it('shows each device with status, model, provider, latency and install state', async () => {
    renderWithServer(<FleetPage />, { devices: fleet })
    await screen.findByTestId('device-row-cam-1')
    const first = within(row('cam-1'))
    expect(first.getByTestId('device-status').textContent).toBe('online')
    expect(first.getByTestId('device-model').textContent).toBe('tiny-classifier@1.0.0')
    expect(first.getByTestId('device-ep').textContent).toBe('cpu')
    expect(first.getByTestId('device-latency').textContent).toBe('p50 1.23 ms · p95 2.35 ms')
    expect(first.getByTestId('device-install').textContent).toBe('committed')
    const second = within(row('cam-2'))
    expect(second.getByTestId('device-status').textContent).toBe('offline')
    expect(second.getByTestId('device-model').textContent).toBe('—')
    expect(second.getByTestId('device-latency').textContent).toBe('—')
    expect(second.getByTestId('device-install').textContent).toContain('downloading 42%')
    expect(second.getByRole('progressbar')).toBeTruthy()
  })

  it('filters rows by id search and by online status', async () => {
    renderWithServer(<FleetPage />, { devices: fleet })
    await screen.findByTestId('device-row-cam-1')
    fireEvent.change(screen.getByTestId('device-search'), { target: { value: 'CAM' } })
    expect(rowIds()).toEqual(['device-row-cam-1', 'device-row-cam-2'])
    fireEvent.change(screen.getByTestId('device-status-filter'), { target: { value: 'online' } })
    expect(rowIds()).toEqual(['device-row-cam-1'])
    fireEvent.change(screen.getByTestId('device-search'), { target: { value: 'nothing-like-this' } })
    expect(rowIds()).toEqual([])
    fireEvent.click(within(screen.getByTestId('no-matches')).getByRole('button', { name: 'Clear filters' }))
    expect(rowIds()).toHaveLength(3)
  })

  it('tells a newcomer how to get devices when the fleet is empty', async () => {
    renderWithServer(<FleetPage />)
    const empty = await screen.findByTestId('empty-state')
    expect(empty.textContent).toContain('npm start -- --demo')
    expect(empty.textContent).toContain('outpost devices enroll')
    expect(empty.textContent).toContain('outpost-agent --broker mqtt://127.0.0.1:1883')
  })

  it('shows a pushed device without reloading', async () => {
    const { server } = renderWithServer(<FleetPage />, { devices: [fleet[0] ?? aDevice()] })
    await screen.findByTestId('device-row-cam-1')
    server.changeDevice(aDevice({ deviceId: 'new-1', isOnline: true }))
    await screen.findByTestId('device-row-new-1')
  })

  it('opens the device details on click and with Enter, and closes them with Escape', async () => {
    renderWithServer(<FleetPage />, { devices: fleet })
    await screen.findByTestId('device-row-gate-1')
    fireEvent.click(row('cam-1'))
    expect(within(screen.getByTestId('device-detail')).getByRole('heading', { level: 2 }).textContent).toBe('cam-1')

    fireEvent.keyDown(row('gate-1'), { key: 'Enter' })
    const detail = screen.getByTestId('device-detail')
    expect(within(detail).getByRole('heading', { level: 2 }).textContent).toBe('gate-1')
    expect(within(detail).getByTestId('detail-eps').textContent).toContain('libcudart.so.12 not found')
    const installError = within(detail).getByTestId('detail-install-error')
    expect(installError.dataset.errorCode).toBe('artifact-corrupt')
    expect(installError.textContent).toContain('sha256 mismatch')
    expect(within(detail).getByTestId('detail-hardware').textContent).toContain('Test CPU × 4')

    fireEvent.keyDown(detail, { key: 'Escape' })
    expect(screen.queryByTestId('device-detail')).toBeNull()
    await waitFor(() => expect(document.activeElement).toBe(row('gate-1')))
  })
})

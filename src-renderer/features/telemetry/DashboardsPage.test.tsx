import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { telemetryMethods } from '../../../src-shared/contract/telemetryContract.ts'
import type { Handlers } from '../../../src-shared/rpc/types.ts'
import { App } from '../../App.tsx'
import { renderWithServer } from '../../testing/renderWithServer.tsx'
import { DashboardsPage } from './DashboardsPage.tsx'
import {
  aCell,
  aDeviceDetail,
  aHeatmap,
  aLatencySeries,
  anAlert,
  anOverlay,
  anOverview,
  aPredictionSeries,
  aReference,
  aRow,
  aWindowDetail,
  TEST_MODEL_SHA256,
} from './telemetryBuilders.ts'

afterEach(cleanup)

interface Recorded {
  heatmaps: Array<{ by?: string | undefined; release: string }>
  overlays: Array<{ feature: string; scope?: { by: string; key: string } | undefined }>
  devices: string[]
}

function dashboardServer(recorded: Recorded): Partial<Handlers<typeof telemetryMethods>> {
  return {
    'telemetry.overview': async () =>
      anOverview({
        deviceCount: 3,
        onlineCount: 2,
        versions: [{ name: 'tiny@1.0.0', modelSha256: TEST_MODEL_SHA256, deviceCount: 3, onlineCount: 2 }],
        executionProviders: [{ name: 'cpu', deviceCount: 3, onlineCount: 2 }],
        arches: [{ name: 'arm64', deviceCount: 3, onlineCount: 2 }],
        activeAlertCount: 1,
        alerts: [anAlert()],
      }),
    'telemetry.latency': async () => aLatencySeries(),
    'telemetry.predictions': async () => aPredictionSeries(),
    'telemetry.window': async ({ deviceId, reportSeq }) => aWindowDetail(deviceId, reportSeq),
    'drift.references': async () => [aReference()],
    'drift.heatmap': async (input) => {
      recorded.heatmaps.push(input)
      const rows = input.by === 'tag' ? [aRow('north', [aCell('f0', 0.4), aCell('f1', 0.01)], { deviceCount: 2 })] : [aRow('cam-1', [aCell('f0', 0.9), aCell('f1', 0.02)]), aRow('cam-2', [aCell('f0', 0.02), aCell('f1', null, 'insufficient')])]
      return aHeatmap(rows, { by: input.by ?? 'device' })
    },
    'drift.overlay': async (input) => {
      recorded.overlays.push(input)
      return anOverlay({ feature: input.feature, scope: { by: input.scope?.by ?? null, key: input.scope?.key ?? null } })
    },
    'drift.device': async ({ deviceId }) => {
      recorded.devices.push(deviceId)
      return aDeviceDetail(deviceId)
    },
  }
}

const newRecorded = (): Recorded => ({ heatmaps: [], overlays: [], devices: [] })

describe('DashboardsPage', () => {
  it('shows the overview, latency, predictions, the heatmap and the overlay of the most drifting cell', async () => {
    const recorded = newRecorded()
    renderWithServer(<DashboardsPage />, { telemetry: dashboardServer(recorded) })
    const heatmap = await screen.findByTestId('drift-heatmap')
    expect(within(screen.getByTestId('fleet-overview')).getByTestId('overview-online').textContent).toBe('2/3')
    expect(screen.getByTestId('alert-row-1').textContent).toContain('cam-1')
    expect(screen.getByTestId('latency-chart').querySelector('svg')).not.toBeNull()
    expect(screen.getByTestId('prediction-chart').querySelector('svg')).not.toBeNull()
    const driftingCell = within(heatmap).getByTestId('drift-cell-f0-cam-1')
    expect(driftingCell.dataset.verdict).toBe('drift')
    expect(driftingCell.textContent).toBe('0.900')
    expect(within(heatmap).getByTestId('drift-cell-f1-cam-2').dataset.verdict).toBe('insufficient')
    expect(within(heatmap).getByTestId('drift-cell-prediction-cam-1')).toBeTruthy()
    // The overlay opens on the top row's drifting feature, scoped to that device.
    const overlay = await screen.findByTestId('overlay-chart')
    expect(overlay.dataset.feature).toBe('f0')
    expect(overlay.querySelector('svg')).not.toBeNull()
    expect(recorded.overlays[0]).toMatchObject({ feature: 'f0', scope: { by: 'device', key: 'cam-1' } })
    expect(recorded.heatmaps[0]).toMatchObject({ release: TEST_MODEL_SHA256, by: 'device' })
  })

  it('drills down from a cell to the device and one of its windows', async () => {
    const recorded = newRecorded()
    renderWithServer(<DashboardsPage />, { telemetry: dashboardServer(recorded) })
    fireEvent.click(await screen.findByTestId('drift-cell-f1-cam-2'))
    const drilldown = await screen.findByTestId('device-drilldown')
    expect(recorded.devices).toContain('cam-2')
    expect(recorded.overlays.at(-1)).toMatchObject({ feature: 'f1', scope: { by: 'device', key: 'cam-2' } })
    expect(screen.getByTestId('drift-cell-f1-cam-2').getAttribute('aria-selected')).toBe('true')
    expect(within(drilldown).getByTestId('drilldown-verdict').textContent).toContain('50%')
    fireEvent.click(within(within(drilldown).getByTestId('window-row-7')).getByRole('button', { name: 'Open' }))
    const windowDetail = await screen.findByTestId('window-detail')
    expect(windowDetail.textContent).toContain('f0 1.20')
    expect(windowDetail.textContent).toContain('too few samples')
    fireEvent.click(within(drilldown).getByRole('button', { name: 'Close the device drill-down' }))
    expect(screen.queryByTestId('device-drilldown')).toBeNull()
  })

  it('regroups the heatmap by cohort', async () => {
    const recorded = newRecorded()
    renderWithServer(<DashboardsPage />, { telemetry: dashboardServer(recorded) })
    await screen.findByTestId('drift-heatmap')
    fireEvent.change(screen.getByTestId('dashboard-grouping'), { target: { value: 'tag' } })
    await screen.findByTestId('drift-cell-f0-north')
    expect(recorded.heatmaps.at(-1)).toMatchObject({ by: 'tag' })
    fireEvent.click(screen.getByTestId('drift-cell-f0-north'))
    await waitFor(() => expect(recorded.overlays.at(-1)).toMatchObject({ feature: 'f0', scope: { by: 'tag', key: 'north' } }))
    expect(screen.queryByTestId('device-drilldown')).toBeNull()
  })

  it('explains reference bins when none are registered', async () => {
    renderWithServer(<DashboardsPage />)
    const empty = await screen.findByTestId('empty-state')
    expect(empty.textContent).toContain('drift.registerReference')
    expect(screen.getByTestId('latency-chart').textContent).toContain('No telemetry in this range')
    expect(screen.queryByTestId('drift-heatmap')).toBeNull()
  })

  it('shows a pushed alert at once and refreshes on new telemetry', async () => {
    const recorded = newRecorded()
    const { server } = renderWithServer(<App />, { telemetry: dashboardServer(recorded) })
    fireEvent.click(await screen.findByTestId('nav-drift'))
    await screen.findByTestId('drift-heatmap')
    server.hub.emit('alert.raised', anAlert({ alertId: 9, kind: 'latency', deviceId: 'cam-2', detail: 'p95 300.0 ms > 250 ms' }))
    expect((await screen.findByTestId('alert-row-9')).textContent).toContain('p95 300.0 ms')
    expect(screen.getByTestId('overview-active-alerts').textContent).toBe('2')
    const heatmapCalls = recorded.heatmaps.length
    server.hub.emit('telemetry.ingested', { windowCount: 10, latestWindowEndAt: '2025-01-01T12:00:00.000Z', at: '2025-01-01T12:00:01.000Z' })
    await waitFor(() => expect(recorded.heatmaps.length).toBe(heatmapCalls + 1))
  })
})

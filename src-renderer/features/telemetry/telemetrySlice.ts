/**
 * The dashboards' state: what is selected (release, range, grouping, heatmap cell, device, window) and the figures
 * the control center computed for it. The server aggregates everything; this slice only asks and keeps answers.
 * Pushed 'telemetry.ingested' refreshes the visible dashboards; 'alert.raised' lands in the overview at once.
 */
import type {
  Alert,
  DeviceDriftDetail,
  DriftGrouping,
  DriftHeatmap,
  DriftReferenceSummary,
  FleetOverview,
  HistogramOverlay,
  LatencySeries,
  PredictionSeries,
  WindowDetail,
} from '../../../src-shared/domain/drift.ts'
import type { OutpostClient } from '../../api/outpostClient.ts'
import type { SliceCreator } from '../../store/appState.ts'
import { asUiError, type LoadState } from '../../store/loadState.ts'

export const RANGE_CHOICES = {
  '5m': { label: 'Last 5 minutes', ms: 5 * 60_000 },
  '1h': { label: 'Last hour', ms: 60 * 60_000 },
  '24h': { label: 'Last 24 hours', ms: 24 * 60 * 60_000 },
  '7d': { label: 'Last 7 days', ms: 7 * 24 * 60 * 60_000 },
} as const
export type RangeChoice = keyof typeof RANGE_CHOICES

export const HEATMAP_ROW_LIMIT = 40

export interface HeatmapSelection {
  feature: string
  rowKey: string
}

export interface TelemetrySlice {
  dashboardRelease: string | null
  dashboardRange: RangeChoice
  dashboardGrouping: DriftGrouping
  heatmapSelection: HeatmapSelection | null
  drilldownDeviceId: string | null
  references: DriftReferenceSummary[]
  overview: FleetOverview | null
  latency: LatencySeries | null
  heatmap: DriftHeatmap | null
  overlay: HistogramOverlay | null
  predictions: PredictionSeries | null
  deviceDetail: DeviceDriftDetail | null
  windowDetail: WindowDetail | null
  dashboardsLoad: LoadState
  /** Loads references, then every panel for the selected release and range. */
  loadDashboards: () => Promise<void>
  setDashboardRelease: (modelSha256: string) => Promise<void>
  setDashboardRange: (range: RangeChoice) => Promise<void>
  setDashboardGrouping: (by: DriftGrouping) => Promise<void>
  /** A heatmap cell: the overlay shows that feature for that row; a device row also opens its drill-down. */
  selectHeatmapCell: (selection: HeatmapSelection) => Promise<void>
  selectWindow: (deviceId: string, reportSeq: number) => Promise<void>
  closeDrilldown: () => void
  applyTelemetryIngested: () => void
  applyAlertRaised: (alert: Alert) => void
}

const MAX_OVERVIEW_ALERTS = 20

export const createTelemetrySlice =
  (client: OutpostClient, nowMs: () => number = Date.now): SliceCreator<TelemetrySlice> =>
  (set, get) => {
    let isRefreshing = false

    function rangeInput() {
      const toMs = nowMs()
      return { fromAt: new Date(toMs - RANGE_CHOICES[get().dashboardRange].ms).toISOString(), toAt: new Date(toMs).toISOString() }
    }

    /** The overlay's default: the first drifting cell of the top row, else the first feature for the whole release. */
    function defaultSelection(heatmap: DriftHeatmap): HeatmapSelection | null {
      const top = heatmap.rows[0]
      const drifting = top?.cells.find((cell) => cell.verdict === 'drift')
      if (top && drifting) return { feature: drifting.feature, rowKey: top.key }
      return null
    }

    async function loadOverlay(release: string, selection: HeatmapSelection | null, fallbackFeature: string | undefined) {
      const feature = selection?.feature ?? fallbackFeature
      if (feature === undefined) return null
      const scope = selection === null ? undefined : { by: get().dashboardGrouping, key: selection.rowKey }
      return client.call('drift.overlay', { release, feature, ...rangeInput(), ...(scope === undefined ? {} : { scope }) })
    }

    async function loadReleasePanels(): Promise<void> {
      const release = get().dashboardRelease
      const range = rangeInput()
      const [overview, latency] = await Promise.all([
        client.call('telemetry.overview', {}),
        client.call('telemetry.latency', release === null ? range : { ...range, release }),
      ])
      if (release === null) {
        set({ overview, latency, heatmap: null, overlay: null, predictions: null })
        return
      }
      const heatmap = await client.call('drift.heatmap', { ...range, release, by: get().dashboardGrouping, limit: HEATMAP_ROW_LIMIT })
      const current = get().heatmapSelection
      const selection = current !== null && heatmap.features.includes(current.feature) ? current : defaultSelection(heatmap)
      const reference = get().references.find((candidate) => candidate.modelSha256 === release)
      const [overlay, predictions] = await Promise.all([
        loadOverlay(release, selection, heatmap.features[0]),
        reference?.hasPredictions ? client.call('telemetry.predictions', { ...range, release }) : Promise.resolve(null),
      ])
      set({ overview, latency, heatmap, overlay, predictions, heatmapSelection: selection })
      const deviceId = get().drilldownDeviceId
      if (deviceId !== null) set({ deviceDetail: await client.call('drift.device', { ...range, release, deviceId }) })
    }

    async function reload(): Promise<void> {
      set({ dashboardsLoad: 'loading' })
      try {
        await loadReleasePanels()
        set({ dashboardsLoad: 'ready' })
      } catch (error) {
        set({ dashboardsLoad: { error: asUiError(error) } })
      }
    }

    return {
      dashboardRelease: null,
      dashboardRange: '1h',
      dashboardGrouping: 'device',
      heatmapSelection: null,
      drilldownDeviceId: null,
      references: [],
      overview: null,
      latency: null,
      heatmap: null,
      overlay: null,
      predictions: null,
      deviceDetail: null,
      windowDetail: null,
      dashboardsLoad: 'idle',
      async loadDashboards() {
        set({ dashboardsLoad: 'loading' })
        try {
          const references = await client.call('drift.references', {})
          const chosen = get().dashboardRelease
          const release = references.some((reference) => reference.modelSha256 === chosen) ? chosen : (references[0]?.modelSha256 ?? null)
          set({ references, dashboardRelease: release })
          await loadReleasePanels()
          set({ dashboardsLoad: 'ready' })
        } catch (error) {
          set({ dashboardsLoad: { error: asUiError(error) } })
        }
      },
      async setDashboardRelease(modelSha256) {
        set({ dashboardRelease: modelSha256, heatmapSelection: null, drilldownDeviceId: null, deviceDetail: null, windowDetail: null })
        await reload()
      },
      async setDashboardRange(range) {
        set({ dashboardRange: range })
        await reload()
      },
      async setDashboardGrouping(by) {
        set({ dashboardGrouping: by, heatmapSelection: null, drilldownDeviceId: null, deviceDetail: null, windowDetail: null })
        await reload()
      },
      async selectHeatmapCell(selection) {
        const release = get().dashboardRelease
        if (release === null) return
        const isDevice = get().dashboardGrouping === 'device'
        set({ heatmapSelection: selection, drilldownDeviceId: isDevice ? selection.rowKey : null, windowDetail: null, ...(isDevice ? {} : { deviceDetail: null }) })
        try {
          const range = rangeInput()
          const [overlay, deviceDetail] = await Promise.all([
            loadOverlay(release, selection, undefined),
            isDevice ? client.call('drift.device', { ...range, release, deviceId: selection.rowKey }) : Promise.resolve(null),
          ])
          set({ overlay, deviceDetail })
        } catch (error) {
          set({ dashboardsLoad: { error: asUiError(error) } })
        }
      },
      async selectWindow(deviceId, reportSeq) {
        try {
          set({ windowDetail: await client.call('telemetry.window', { deviceId, reportSeq }) })
        } catch (error) {
          set({ dashboardsLoad: { error: asUiError(error) } })
        }
      },
      closeDrilldown() {
        set({ drilldownDeviceId: null, deviceDetail: null, windowDetail: null })
      },
      applyTelemetryIngested() {
        // Only the visible page refreshes, and one refresh at a time: notices come at most every 2 s anyway.
        if (get().page !== 'drift' || isRefreshing || get().dashboardsLoad === 'loading') return
        isRefreshing = true
        void loadReleasePanels()
          .catch((error: unknown) => set({ dashboardsLoad: { error: asUiError(error) } }))
          .finally(() => {
            isRefreshing = false
          })
      },
      applyAlertRaised(alert) {
        set((state) =>
          state.overview === null
            ? {}
            : {
                overview: {
                  ...state.overview,
                  activeAlertCount: state.overview.activeAlertCount + 1,
                  alerts: [alert, ...state.overview.alerts.filter((known) => known.alertId !== alert.alertId)].slice(0, MAX_OVERVIEW_ALERTS),
                },
              },
        )
      },
    }
  }

/** The dashboards' recharts charts. Fixed sizes: the page lays them out in a grid, and tests render without layout. */
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts'
import type { HistogramOverlay, LatencySeries, PredictionSeries } from '../../../src-shared/domain/drift.ts'
import { DASHBOARD_COLORS, formatScore, formatShare, latencyChartData, overlayChartData, predictionChartData } from './dashboardData.ts'

const CHART_WIDTH = 560
const CHART_HEIGHT = 240

const shareTick = (value: number) => formatShare(value)
const shareTooltip = (value: unknown) => (typeof value === 'number' ? formatShare(value) : String(value))

export function LatencyChart({ series, selectedModelSha256 }: { series: LatencySeries; selectedModelSha256: string | null }) {
  const { rows, lines } = latencyChartData(series, selectedModelSha256)
  return (
    <figure className="chart" data-testid="latency-chart">
      <figcaption>
        Latency per {series.resolution} (ms): p50, p95 and p99 of the merged histograms{lines.some((line) => line.isDashed) ? '; other releases p95, dashed' : ''}
      </figcaption>
      {rows.length === 0 ? (
        <p className="muted">No telemetry in this range.</p>
      ) : (
        <LineChart width={CHART_WIDTH} height={CHART_HEIGHT} data={rows} margin={{ left: 8, right: 16, top: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="bucket" minTickGap={16} />
          <YAxis width={48} />
          <Tooltip formatter={(value: unknown) => (typeof value === 'number' ? `${value.toFixed(2)} ms` : String(value))} />
          <Legend />
          {lines.map((line) => (
            <Line
              key={line.key}
              dataKey={line.key}
              stroke={line.color}
              strokeDasharray={line.isDashed ? '4 3' : undefined}
              dot={false}
              isAnimationActive={false}
              connectNulls
            />
          ))}
        </LineChart>
      )}
    </figure>
  )
}

export function OverlayChart({ overlay }: { overlay: HistogramOverlay }) {
  const scope = overlay.scope.key === null ? 'whole release' : `${overlay.scope.by === 'device' ? 'device' : overlay.scope.by} ${overlay.scope.key}`
  return (
    <figure className="chart" data-testid="overlay-chart" data-feature={overlay.feature} data-verdict={overlay.verdict}>
      <figcaption>
        <strong>{overlay.feature}</strong> ({scope}): reference vs live shares per bin, {overlay.sampleCount} live samples
        {overlay.scores && (
          <span data-testid="overlay-scores">
            {' '}
            · PSI {formatScore(overlay.scores.psi)} · JS {formatScore(overlay.scores.jensenShannon)} · W {formatScore(overlay.scores.wasserstein)}
          </span>
        )}{' '}
        · <span className={`verdict verdict-${overlay.verdict}`}>{overlay.verdict}</span>
      </figcaption>
      <BarChart width={CHART_WIDTH} height={CHART_HEIGHT} data={overlayChartData(overlay)} margin={{ left: 8, right: 16, top: 8 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="bin" interval={0} angle={-30} textAnchor="end" height={56} fontSize={11} />
        <YAxis tickFormatter={shareTick} width={48} />
        <Tooltip formatter={shareTooltip} />
        <Legend />
        <Bar dataKey="reference" name="reference" fill={DASHBOARD_COLORS.reference} isAnimationActive={false} />
        <Bar dataKey="live" name="live" fill={DASHBOARD_COLORS.live} isAnimationActive={false} />
      </BarChart>
    </figure>
  )
}

export function PredictionChart({ series }: { series: PredictionSeries }) {
  const rows = predictionChartData(series)
  return (
    <figure className="chart" data-testid="prediction-chart">
      <figcaption>Prediction distribution per {series.resolution} (first bar: reference)</figcaption>
      <BarChart width={CHART_WIDTH} height={CHART_HEIGHT} data={rows} margin={{ left: 8, right: 16, top: 8 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="bucket" minTickGap={8} />
        <YAxis tickFormatter={shareTick} domain={[0, 1]} width={48} />
        <Tooltip formatter={shareTooltip} />
        <Legend />
        {series.binLabels.map((bin, index) => (
          <Bar key={bin} dataKey={bin} stackId="shares" fill={DASHBOARD_COLORS.classes[index % DASHBOARD_COLORS.classes.length]} isAnimationActive={false} />
        ))}
      </BarChart>
    </figure>
  )
}

export function DriftSeriesChart({ points }: { points: Array<{ bucket: string; share: number | null }> }) {
  return (
    <figure className="chart" data-testid="device-drift-chart">
      <figcaption>Share of drifting features over time</figcaption>
      <LineChart width={CHART_WIDTH} height={180} data={points} margin={{ left: 8, right: 16, top: 8 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="bucket" minTickGap={16} />
        <YAxis tickFormatter={shareTick} domain={[0, 1]} width={48} />
        <Tooltip formatter={shareTooltip} />
        <Line dataKey="share" name="drift share" stroke={DASHBOARD_COLORS.p99} dot={false} isAnimationActive={false} connectNulls />
      </LineChart>
    </figure>
  )
}

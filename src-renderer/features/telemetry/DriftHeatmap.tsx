import type { CSSProperties } from 'react'
import type { DriftCell, DriftHeatmap as DriftHeatmapData } from '../../../src-shared/domain/drift.ts'
import { formatScore, formatShare, heatColor } from './dashboardData.ts'
import type { HeatmapSelection } from './telemetrySlice.ts'

interface DriftHeatmapProps {
  heatmap: DriftHeatmapData
  selection: HeatmapSelection | null
  onSelect: (selection: HeatmapSelection) => void
}

const PREDICTION_COLUMN = 'prediction'

function cellTitle(cell: DriftCell, rowKey: string, metric: string): string {
  const verdict = cell.verdict === 'insufficient' ? 'too few samples for a verdict' : cell.verdict
  return `${rowKey} · ${cell.feature}: ${metric} ${formatScore(cell.score)} over ${cell.sampleCount} samples (${verdict})`
}

/**
 * Features × devices or cohorts, coloured by distance against the threshold; a cell opens that feature's overlay
 * (and, for a device, its drill-down). Rows come most drifting first, as the server ranked them.
 */
export function DriftHeatmap({ heatmap, selection, onSelect }: DriftHeatmapProps) {
  const columns = heatmap.hasPredictions ? [...heatmap.features, PREDICTION_COLUMN] : heatmap.features
  const gridStyle: CSSProperties = { gridTemplateColumns: `minmax(7rem, max-content) repeat(${columns.length}, minmax(2.4rem, 1fr)) max-content` }
  const rowLabel = heatmap.by === 'device' ? 'Device' : `Cohort (${heatmap.by})`
  return (
    <figure className="heatmap-figure">
      <figcaption>
        {heatmap.totalRows} {heatmap.by === 'device' ? 'devices' : 'cohorts'}: <strong>{heatmap.driftingRows} drifting</strong>,{' '}
        {heatmap.insufficientRows} with fewer than {heatmap.minSamples} samples. {heatmap.metric} ≥ {heatmap.threshold} drifts a feature.
        {heatmap.rows.length < heatmap.totalRows && ` Showing the ${heatmap.rows.length} most drifting.`}
      </figcaption>
      <div className="heatmap" role="grid" aria-label={`Drift by feature and ${heatmap.by}`} data-testid="drift-heatmap" style={gridStyle}>
        <div className="heatmap-corner" role="columnheader">
          {rowLabel}
        </div>
        {columns.map((column) => (
          <div key={column} className="heatmap-column" role="columnheader" title={column}>
            {column === PREDICTION_COLUMN ? 'pred.' : column}
          </div>
        ))}
        <div className="heatmap-column" role="columnheader">
          Share
        </div>
        {heatmap.rows.map((row) => {
          const cells = row.prediction ? [...row.cells, { ...row.prediction, feature: PREDICTION_COLUMN }] : row.cells
          return (
            <div key={row.key} className="heatmap-row" role="row" data-verdict={row.verdict}>
              <div className="heatmap-row-label" role="rowheader" title={`${row.deviceCount} device(s)`}>
                {row.key}
              </div>
              {cells.map((cell) => {
                // The prediction cell opens the overlay of the prediction bins, which go by their reference name.
                const feature = cell.feature === PREDICTION_COLUMN ? (row.prediction?.feature ?? cell.feature) : cell.feature
                const isSelected = selection?.feature === feature && selection.rowKey === row.key
                return (
                  <button
                    key={cell.feature}
                    type="button"
                    role="gridcell"
                    className="heatmap-cell"
                    data-testid={`drift-cell-${cell.feature}-${row.key}`}
                    data-verdict={cell.verdict}
                    aria-selected={isSelected}
                    aria-label={cellTitle(cell, row.key, heatmap.metric)}
                    title={cellTitle(cell, row.key, heatmap.metric)}
                    style={{ background: heatColor(cell.score, heatmap.threshold, cell.verdict) }}
                    onClick={() => onSelect({ feature, rowKey: row.key })}
                  >
                    {cell.verdict === 'insufficient' ? '·' : formatScore(cell.score)}
                  </button>
                )
              })}
              <div className="heatmap-share" role="gridcell" data-testid={`drift-share-${row.key}`}>
                {row.driftShare === null ? '—' : formatShare(row.driftShare)}
              </div>
            </div>
          )
        })}
      </div>
      <p className="heatmap-legend muted">
        <span className="swatch" style={{ background: heatColor(0, 1, 'stable') }} /> 0 <span className="swatch" style={{ background: heatColor(1, 1, 'drift') }} />{' '}
        threshold <span className="swatch" style={{ background: heatColor(2, 1, 'drift') }} /> 2× threshold{' '}
        <span className="swatch" style={{ background: heatColor(null, 1, 'insufficient') }} /> too few samples
      </p>
    </figure>
  )
}

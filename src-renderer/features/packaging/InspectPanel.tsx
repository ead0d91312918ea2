import { useEffect } from 'react'
import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from 'recharts'
import type { ModelCard } from '../../../src-shared/contract/packagingContract.ts'
import type { ModelSummary } from '../../../src-shared/domain/model.ts'
import type { ModelInspection } from '../../../src-shared/domain/modelInspection.ts'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { formatBytes, formatTensor, shortSha256 } from '../../lib/format.ts'
import { useAppStore } from '../../store/StoreContext.tsx'
import { CHART_COLORS } from './chartColors.ts'
import { formatFraction, formatRatio, operatorTotals } from './chartData.ts'

const CHART_OPERATORS = 15

/** The structure of a stored model (I/O, operators, parameters, opsets, producer, custom ops) and its card. */
export function InspectPanel({ model }: { model: ModelSummary }) {
  const inspection = useAppStore((state) => state.inspections[model.modelId])
  const cardView = useAppStore((state) => state.cardViews[model.modelId])
  const loadInspection = useAppStore((state) => state.loadInspection)
  const loadCardView = useAppStore((state) => state.loadCardView)
  const isLoaded = inspection !== undefined
  useEffect(() => {
    if (!isLoaded) void loadInspection(model.modelId)
    void loadCardView(model.modelId)
  }, [model.modelId, isLoaded, loadInspection, loadCardView])

  return (
    <div data-testid="inspect-panel">
      {(inspection === undefined || inspection.status === 'loading') && (
        <p>
          Reading {model.name}… <progress aria-label="Inspection in progress" />
        </p>
      )}
      {inspection?.status === 'failed' && <ErrorNotice error={inspection.error} onRetry={() => void loadInspection(model.modelId)} />}
      {inspection?.status === 'ready' && <InspectionDetails inspection={inspection.value} />}
      {cardView?.status === 'ready' && cardView.value.card !== null && <CardSummary card={cardView.value.card} />}
    </div>
  )
}

function InspectionDetails({ inspection }: { inspection: ModelInspection }) {
  const opsets = Object.entries(inspection.opsets).map(([domain, version]) => `${domain === '' ? 'ai.onnx' : domain} ${version}`)
  const producer = [inspection.producerName, inspection.producerVersion].filter((part) => part !== null && part !== '').join(' ')
  const operators = operatorTotals(inspection, CHART_OPERATORS)
  return (
    <>
      <dl className="facts" data-testid="inspect-facts">
        <dt>Format</dt>
        <dd>
          {inspection.format} {inspection.format === 'onnx' ? `IR ${inspection.formatVersion}` : `schema ${inspection.formatVersion}`} · {formatBytes(inspection.sizeBytes)}
        </dd>
        <dt>Opsets</dt>
        <dd data-testid="inspect-opsets">{opsets.length === 0 ? '—' : opsets.join(', ')}</dd>
        <dt>Producer</dt>
        <dd>{producer === '' ? '—' : producer}</dd>
        <dt>Nodes</dt>
        <dd>
          {inspection.nodeCount} in {inspection.subgraphCount + 1} graph{inspection.subgraphCount === 0 ? '' : 's'}
        </dd>
        <dt>Parameters</dt>
        <dd>
          {inspection.parameterCount.toLocaleString('en')} ({formatBytes(inspection.parameterBytes)})
        </dd>
      </dl>
      {inspection.warnings.length > 0 && (
        <ul className="warnings" data-testid="inspect-warnings">
          {inspection.warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      )}
      <div className="inspect-grid">
        <section>
          <h3>Inputs</h3>
          <ul className="tensor-list" data-testid="inspect-inputs">
            {inspection.inputs.map((tensor) => (
              <li key={tensor.name}>
                <code>{formatTensor(tensor)}</code>
              </li>
            ))}
          </ul>
          <h3>Outputs</h3>
          <ul className="tensor-list" data-testid="inspect-outputs">
            {inspection.outputs.map((tensor) => (
              <li key={tensor.name}>
                <code>{formatTensor(tensor)}</code>
              </li>
            ))}
          </ul>
        </section>
        <section>
          <h3>Parameters by dtype</h3>
          <table className="table compact" data-testid="inspect-dtypes">
            <thead>
              <tr>
                <th scope="col">Dtype</th>
                <th scope="col">Count</th>
                <th scope="col">Bytes</th>
              </tr>
            </thead>
            <tbody>
              {inspection.parametersByDtype.map((bucket) => (
                <tr key={bucket.dtype}>
                  <td>{bucket.dtype}</td>
                  <td className="numeric">{bucket.count.toLocaleString('en')}</td>
                  <td className="numeric">{formatBytes(bucket.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Custom operators</h3>
          {inspection.customOps.length === 0 ? (
            <p className="muted">None: stock onnxruntime runs every operator.</p>
          ) : (
            <ul data-testid="inspect-custom-ops">
              {inspection.customOps.map((op) => (
                <li key={`${op.domain}.${op.opType}`}>
                  <code>
                    {op.domain}.{op.opType}
                  </code>{' '}
                  ×{op.count}
                  {op.definedByModelFunction ? ' (defined by a model function)' : ''}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <h3>Operators</h3>
      <figure className="chart" aria-label="Operator histogram">
        <BarChart width={560} height={Math.max(120, operators.length * 22 + 40)} data={operators} layout="vertical" margin={{ left: 24, right: 16 }}>
          <CartesianGrid strokeDasharray="3 3" horizontal={false} />
          <XAxis type="number" allowDecimals={false} />
          <YAxis type="category" dataKey="opType" width={150} />
          <Tooltip />
          <Bar dataKey="count" name="nodes" fill={CHART_COLORS.candidate} isAnimationActive={false} />
        </BarChart>
      </figure>
      <table className="table compact" data-testid="inspect-operators">
        <thead>
          <tr>
            <th scope="col">Operator</th>
            <th scope="col">Domain</th>
            <th scope="col">Graph</th>
            <th scope="col">Count</th>
          </tr>
        </thead>
        <tbody>
          {inspection.opHistogram.map((op) => (
            <tr key={`${op.path}\u0000${op.domain}\u0000${op.opType}`}>
              <td>{op.opType}</td>
              <td>{op.domain === '' ? 'ai.onnx' : op.domain}</td>
              <td>
                <code>{op.path}</code>
              </td>
              <td className="numeric">{op.count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}

/** The lineage of a derived model: what it was made from, how, and its last verdict. */
function CardSummary({ card }: { card: ModelCard }) {
  return (
    <section className="card-summary" data-testid="inspect-card">
      <h3>Model card</h3>
      <dl className="facts">
        <dt>Made from</dt>
        <dd>
          {card.source.name === null ? card.source.fileName : `${card.source.name}@${card.source.version ?? '?'}`} (<code title={card.source.sha256}>{shortSha256(card.source.sha256)}</code>)
        </dd>
        <dt>Recipe</dt>
        <dd>
          {card.recipe}
          {card.options.method === null ? '' : `, ${card.options.method}`}
          {card.options.perChannel ? ', per-channel' : ''}
        </dd>
        <dt>Size</dt>
        <dd>
          {formatBytes(card.metrics.sourceSizeBytes)} → {formatBytes(card.metrics.outputSizeBytes)} ({formatRatio(card.metrics.sizeRatio)})
        </dd>
        {card.calibration !== null && (
          <>
            <dt>Calibration</dt>
            <dd>
              {card.calibration.name}, {card.calibration.sampleCount} samples (<code title={card.calibration.sha256}>{shortSha256(card.calibration.sha256)}</code>)
            </dd>
          </>
        )}
        {card.report.quantizedNodeCount + card.report.skippedNodeCount > 0 && (
          <>
            <dt>Quantized</dt>
            <dd>
              {card.report.quantizedNodeCount} nodes; {card.report.skippedNodeCount} kept in float
            </dd>
          </>
        )}
        <dt>Tool</dt>
        <dd>outpost {card.tool.version}</dd>
        {card.evaluation !== null && (
          <>
            <dt>Last verdict</dt>
            <dd>
              {card.evaluation.isReleaseReady ? 'release-ready' : 'not release-ready'} · agreement {formatFraction(card.evaluation.metrics.top1Agreement)}
            </dd>
          </>
        )}
      </dl>
    </section>
  )
}

import { useEffect, useRef } from 'react'
import type { ReleaseSummary, SignatureStatus } from '../../../src-shared/contract/releasesContract.ts'
import { EMPTY_CELL, formatBytes, shortSha256 } from '../../lib/format.ts'
import { ThresholdBadge } from './ReleaseTable.tsx'
import { thresholdLabel } from './thresholdLabel.ts'

const statusText: Record<SignatureStatus, string> = {
  valid: 'valid',
  invalid: 'does not verify',
  'unknown-key': 'not a release key of this root',
  unchecked: 'not checked (no trust root)',
}

function formatMetric(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4)
}

/** One release: signatures against the threshold, the lineage its model card records, files and compatibility. */
export function ReleaseDetail({ release, onClose }: { release: ReleaseSummary; onClose: () => void }) {
  const closeRef = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    closeRef.current?.focus()
  }, [release.releaseId])
  const { lineage } = release
  return (
    <aside
      className="detail-panel"
      aria-label={`Release ${release.modelId} #${release.releaseCounter}`}
      data-testid="release-detail"
      onKeyDown={(event) => {
        if (event.key === 'Escape') onClose()
      }}
    >
      <div className="detail-heading">
        <h2>
          {release.modelId} {release.version}
        </h2>
        <ThresholdBadge release={release} />
        <button ref={closeRef} type="button" className="close" aria-label="Close release details" onClick={onClose}>
          ×
        </button>
      </div>

      <section>
        <h3>Signatures</h3>
        <p className="muted">{thresholdLabel(release.signatures).description}.</p>
        <ul className="signature-list" data-testid="release-signatures">
          {release.signatures.entries.map((entry) => (
            <li key={entry.keyid} className={`signature-${entry.status}`}>
              <code title={entry.keyid}>{entry.keyid.slice(0, 16)}</code> {statusText[entry.status]}
            </li>
          ))}
          {release.signatures.entries.length === 0 && <li>No signatures yet.</li>}
        </ul>
      </section>

      <section className="lineage-card" data-testid="release-lineage">
        <h3>Lineage</h3>
        {release.overrideReason !== null && (
          <p className="override-note" data-testid="release-override">
            Released despite its evaluation gate: {release.overrideReason}
          </p>
        )}
        {lineage === null ? (
          <p className="muted">{release.card === null ? 'No model card was attached to this release.' : 'The model card is not JSON; it is shown below.'}</p>
        ) : (
          <dl className="facts">
            <dt>Source</dt>
            <dd>
              {lineage.sourceName ?? EMPTY_CELL}
              {lineage.sourceSha256 !== null && (
                <>
                  {' '}
                  <code title={lineage.sourceSha256}>{shortSha256(lineage.sourceSha256)}</code>
                </>
              )}
            </dd>
            <dt>Recipe</dt>
            <dd>{lineage.recipe ?? EMPTY_CELL}</dd>
            <dt>Tool</dt>
            <dd>{lineage.toolVersion ?? EMPTY_CELL}</dd>
            <dt>Gate</dt>
            <dd data-testid="release-gate">{lineage.isReleaseReady === null ? 'not evaluated' : lineage.isReleaseReady ? 'release-ready' : 'not release-ready'}</dd>
            {lineage.readinessReasons.map((reason) => (
              <dd key={reason} className="muted">
                {reason}
              </dd>
            ))}
            {lineage.metrics.map((metric) => (
              <MetricFact key={metric.name} name={metric.name} value={metric.value} />
            ))}
          </dl>
        )}
        {release.card !== null && lineage === null && <pre className="model-card">{release.card}</pre>}
      </section>

      <section>
        <h3>Files</h3>
        <ul className="tensor-list">
          {release.files.map((file) => (
            <li key={file.name}>
              <code>{file.name}</code> {formatBytes(file.sizeBytes)} <code title={file.sha256}>{shortSha256(file.sha256)}</code>
              {file.chunkCount > 0 && <span className="muted"> · {file.chunkCount} chunks</span>}
            </li>
          ))}
        </ul>
      </section>

      <section>
        <h3>Runs on</h3>
        <dl className="facts">
          <dt>Runtime</dt>
          <dd>
            {release.runtime} ≥ {release.runtimeMinVersion}
          </dd>
          <dt>Opset</dt>
          <dd>≤ {release.opsetMax}</dd>
          <dt>Providers</dt>
          <dd>{release.executionProviders.join(', ')}</dd>
          <dt>Health check</dt>
          <dd>outputs within {release.healthTolerance}</dd>
        </dl>
      </section>
    </aside>
  )
}

function MetricFact({ name, value }: { name: string; value: number }) {
  return (
    <>
      <dt>{name}</dt>
      <dd className="numeric">{formatMetric(value)}</dd>
    </>
  )
}

import type { ReleaseReadiness } from '../../../src-shared/domain/evaluation.ts'

/** The release gate's verdict, with the reasons when the candidate fails it. */
export function ReleaseReadyBadge({ readiness }: { readiness: ReleaseReadiness }) {
  return (
    <div className="release-verdict" data-testid="release-ready" data-ready={String(readiness.isReleaseReady)}>
      <span className={`badge ${readiness.isReleaseReady ? 'badge-ready' : 'badge-not-ready'}`}>
        {readiness.isReleaseReady ? 'Release-ready' : 'Not release-ready'}
      </span>
      {readiness.reasons.length > 0 && (
        <ul className="reasons">
          {readiness.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
    </div>
  )
}

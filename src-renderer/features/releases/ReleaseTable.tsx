import type { ReleaseSummary } from '../../../src-shared/contract/releasesContract.ts'
import { formatRelative, shortSha256 } from '../../lib/format.ts'
import { thresholdLabel } from './thresholdLabel.ts'

interface ReleaseTableProps {
  releases: ReleaseSummary[]
  selectedReleaseId: string | null
  nowMs: number
  onSelect: (releaseId: string) => void
}

export function ThresholdBadge({ release }: { release: ReleaseSummary }) {
  const label = thresholdLabel(release.signatures)
  return (
    <span className={`badge badge-threshold-${label.tone}`} data-testid="release-threshold" title={label.description} aria-label={label.description}>
      {label.text}
    </span>
  )
}

export function ReleaseTable({ releases, selectedReleaseId, nowMs, onSelect }: ReleaseTableProps) {
  return (
    <table className="table release-table" data-testid="release-table">
      <thead>
        <tr>
          <th scope="col">Model</th>
          <th scope="col">Counter</th>
          <th scope="col">Version</th>
          <th scope="col">Signatures</th>
          <th scope="col">Manifest</th>
          <th scope="col">Expires</th>
          <th scope="col">Imported</th>
        </tr>
      </thead>
      <tbody>
        {releases.map((release) => (
          <tr
            key={release.releaseId}
            data-testid={`release-row-${release.releaseId}`}
            className={`clickable${release.releaseId === selectedReleaseId ? ' selected' : ''}`}
            tabIndex={0}
            aria-selected={release.releaseId === selectedReleaseId}
            onClick={() => onSelect(release.releaseId)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' || event.key === ' ') {
                event.preventDefault()
                onSelect(release.releaseId)
              }
            }}
          >
            <th scope="row">{release.modelId}</th>
            <td className="numeric">#{release.releaseCounter}</td>
            <td>{release.version}</td>
            <td>
              <ThresholdBadge release={release} />
            </td>
            <td>
              <code title={release.releaseId}>{shortSha256(release.releaseId)}</code>
            </td>
            <td>{release.isExpired ? <span className="badge badge-expired">expired</span> : release.expiresAt.slice(0, 10)}</td>
            <td>{formatRelative(release.importedAt, nowMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

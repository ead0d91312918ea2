import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts'
import type { DryRunResult } from '../../../src-shared/domain/rollout.ts'

export function formatSimulatedTime(ms: number | null): string {
  if (ms === null) return '—'
  const minutes = Math.round(ms / 60_000)
  return minutes < 120 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`
}

/** What the dry run predicts: outcome, exposure before a halt, time to 100 %, and the curve of installs over time. */
export function DryRunPreview({ result }: { result: DryRunResult }) {
  const data = result.timeline.map((point) => ({ minutes: Math.round(point.atMs / 60_000), committed: point.committedCount, failed: point.failedCount, sent: point.sentCount }))
  const events = result.timeline.filter((point) => point.event !== null)
  return (
    <div data-testid="dry-run-result">
      <dl className="facts">
        <dt>Outcome</dt>
        <dd data-testid="dry-run-outcome">
          {result.outcome}
          {result.haltReasons.length > 0 && ` (${result.haltReasons.join(', ')})`}
        </dd>
        <dt>Devices</dt>
        <dd>
          {result.deviceCount} ({result.skippedIncompatibleCount} incompatible)
        </dd>
        <dt>{result.outcome === 'halted' ? 'Exposed before the halt' : 'Exposed'}</dt>
        <dd data-testid="dry-run-exposed">{result.exposedCount}</dd>
        <dt>Time to 100%</dt>
        <dd>{formatSimulatedTime(result.timeToCompleteMs)}</dd>
      </dl>
      <LineChart width={640} height={200} data={data}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="minutes" unit=" min" />
        <YAxis allowDecimals={false} />
        <Tooltip />
        <Legend />
        <Line type="stepAfter" dataKey="sent" stroke="#1565c0" dot={false} isAnimationActive={false} />
        <Line type="stepAfter" dataKey="committed" stroke="#2e7d32" dot={false} isAnimationActive={false} />
        <Line type="stepAfter" dataKey="failed" stroke="#c62828" dot={false} isAnimationActive={false} />
      </LineChart>
      <ul className="muted">
        {events.map((point, index) => (
          <li key={index}>
            +{formatSimulatedTime(point.atMs)}: {point.event}
          </li>
        ))}
      </ul>
    </div>
  )
}

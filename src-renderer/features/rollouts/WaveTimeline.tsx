import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts'
import type { GateDecision, RolloutDetail, RolloutDevice, WaveState } from '../../../src-shared/domain/rollout.ts'

/** How the chart groups device statuses, in stacking order. */
const segments = [
  { key: 'committed', label: 'committed', color: '#2e7d32' },
  { key: 'failed', label: 'failed', color: '#c62828' },
  { key: 'rolledBack', label: 'rolled back', color: '#ef6c00' },
  { key: 'inFlight', label: 'installing', color: '#1565c0' },
  { key: 'silent', label: 'silent', color: '#6d4c41' },
  { key: 'planned', label: 'not sent yet', color: '#9e9e9e' },
] as const

type SegmentKey = (typeof segments)[number]['key']

function segmentOf(row: RolloutDevice): SegmentKey {
  switch (row.status) {
    case 'committed':
      return 'committed'
    case 'failed':
    case 'timed-out':
      return 'failed'
    case 'rolled-back':
      return 'rolledBack'
    case 'silent':
      return 'silent'
    case 'planned':
      return 'planned'
    default:
      return 'inFlight'
  }
}

export function waveChartData(detail: RolloutDetail) {
  return detail.waves.map((wave) => {
    const counts: Record<SegmentKey, number> = { committed: 0, failed: 0, rolledBack: 0, inFlight: 0, silent: 0, planned: 0 }
    for (const row of detail.devices) if (row.wave === wave.index) counts[segmentOf(row)] += 1
    return { wave: `Wave ${wave.index + 1}`, ...counts }
  })
}

const percent = (ratio: number | null) => (ratio === null ? '—' : `${(ratio * 100).toFixed(1)}%`)

function GateValues({ decision }: { decision: GateDecision }) {
  const v = decision.values
  const soak = v.soakRemainingMs === null ? '—' : v.soakRemainingMs === 0 ? 'done' : `${Math.ceil(v.soakRemainingMs / 60_000)} min left`
  return (
    <dl className="facts">
      <dt>Executed</dt>
      <dd>
        {v.executedCount} of {v.sentCount} sent ({v.pendingInWaveCount} pending in this wave)
      </dd>
      <dt>Install failures</dt>
      <dd>
        {v.failedCount} ({percent(v.installFailureRatio)})
      </dd>
      <dt>Timeouts</dt>
      <dd>
        {v.timedOutCount} ({percent(v.timeoutRatio)})
      </dd>
      <dt>Silent</dt>
      <dd>
        {v.silentCount} ({percent(v.silentRatio)})
      </dd>
      <dt>Health-check failures</dt>
      <dd>
        {v.healthFailureCount} ({percent(v.healthFailureRatio)})
      </dd>
      <dt>p95 latency</dt>
      <dd>{v.latencyRatio === null ? `unmeasured (${v.latencyDeviceCount} devices)` : `${v.latencyRatio.toFixed(2)}× (${v.latencyBasis}, ${v.latencyDeviceCount} devices)`}</dd>
      <dt>Drift</dt>
      <dd>{v.driftScore === null ? 'unmeasured' : `${v.driftScore.toFixed(3)} (${v.driftSampleCount} samples)`}</dd>
      <dt>Soak</dt>
      <dd>{soak}</dd>
    </dl>
  )
}

function waveLabel(wave: WaveState): string {
  if (wave.status === 'pending' && wave.spec.requiresApproval && wave.approvedAt === null) return 'pending: needs approval'
  return wave.status
}

/** One bar per wave, stacked by device state, and each wave's gate with the values it decided from. */
export function WaveTimeline({ detail }: { detail: RolloutDetail }) {
  const data = waveChartData(detail)
  return (
    <section className="panel" aria-labelledby="waves-heading">
      <h3 id="waves-heading">Waves</h3>
      {detail.waves.length === 0 ? (
        <p className="muted">No device needs this release: nothing to roll out.</p>
      ) : (
        <BarChart width={640} height={220} data={data} data-testid="wave-chart">
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="wave" />
          <YAxis allowDecimals={false} />
          <Tooltip />
          <Legend />
          {segments.map((segment) => (
            <Bar key={segment.key} dataKey={segment.key} name={segment.label} stackId="devices" fill={segment.color} isAnimationActive={false} />
          ))}
        </BarChart>
      )}
      <ol className="wave-list">
        {detail.waves.map((wave) => (
          <li key={wave.index} data-testid={`wave-${wave.index + 1}-status`} data-status={wave.status} data-verdict={wave.decision?.verdict ?? ''}>
            <strong>
              Wave {wave.index + 1}: {wave.deviceCount} device{wave.deviceCount === 1 ? '' : 's'} (up to {wave.cumulativeDeviceCount}, {wave.spec.cumulativePercent}%)
            </strong>{' '}
            — {waveLabel(wave)}
            {wave.decision && (
              <>
                {' '}
                · gate: {wave.decision.verdict}
                {wave.decision.reasons.length > 0 && ` (${wave.decision.reasons.join(', ')})`}
                <GateValues decision={wave.decision} />
              </>
            )}
          </li>
        ))}
      </ol>
    </section>
  )
}

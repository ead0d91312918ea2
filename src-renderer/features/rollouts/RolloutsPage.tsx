import { useEffect } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { RolloutSummary } from '../../../src-shared/domain/rollout.ts'
import { EmptyState } from '../../components/EmptyState.tsx'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import type { AppState } from '../../store/appState.ts'
import { loadErrorOf } from '../../store/loadState.ts'
import { selectModels } from '../../store/selectors.ts'
import { useAppStore } from '../../store/StoreContext.tsx'
import { RolloutDetailPanel } from './RolloutDetailPanel.tsx'
import { RolloutWizard } from './RolloutWizard.tsx'

/** Newest first. */
export const selectRollouts = (state: AppState): RolloutSummary[] =>
  Object.values(state.rolloutsById).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.rolloutId.localeCompare(a.rolloutId))

const selectDeviceList = (state: AppState) => Object.values(state.devicesById).sort((a, b) => a.deviceId.localeCompare(b.deviceId))

function RolloutTable({ rollouts, selectedId, onSelect }: { rollouts: RolloutSummary[]; selectedId: string | null; onSelect: (rolloutId: string) => void }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Rollout</th>
          <th>State</th>
          <th>Wave</th>
          <th className="numeric">Devices</th>
          <th className="numeric">Committed</th>
          <th className="numeric">Failed</th>
        </tr>
      </thead>
      <tbody>
        {rollouts.map((rollout) => (
          <tr key={rollout.rolloutId} aria-selected={rollout.rolloutId === selectedId} data-testid={`rollout-row-${rollout.rolloutId}`}>
            <td>
              <button type="button" className="nav-link" onClick={() => onSelect(rollout.rolloutId)}>
                {rollout.spec.name}
              </button>
            </td>
            <td>{rollout.status}</td>
            <td>{rollout.currentWave === null ? '—' : `${rollout.currentWave + 1} of ${rollout.waves.length}`}</td>
            <td className="numeric">{rollout.deviceCount}</td>
            <td className="numeric">{rollout.outcomes.committed ?? 0}</td>
            <td className="numeric">{(rollout.outcomes.failed ?? 0) + (rollout.outcomes['rolled-back'] ?? 0)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** Staged rollouts: the list, the wizard for a new one, and the live timeline of the selected one. */
export function RolloutsPage() {
  const rollouts = useAppStore(useShallow(selectRollouts))
  const models = useAppStore(useShallow(selectModels))
  const devices = useAppStore(useShallow(selectDeviceList))
  const load = useAppStore((state) => state.rolloutsLoad)
  const loadRollouts = useAppStore((state) => state.loadRollouts)
  const isConnected = useAppStore((state) => state.connection.status === 'connected')
  const selectedId = useAppStore((state) => state.selectedRolloutId)
  const selectRollout = useAppStore((state) => state.selectRollout)
  const detail = useAppStore((state) => state.rolloutDetail)
  const detailLoad = useAppStore((state) => state.rolloutDetailLoad)
  const isWizardOpen = useAppStore((state) => state.isRolloutWizardOpen)
  const openRolloutWizard = useAppStore((state) => state.openRolloutWizard)
  const loadError = loadErrorOf(load)
  const detailError = loadErrorOf(detailLoad)

  useEffect(() => {
    // Loaded with the page (and again after a reconnect); 'rollout.progressed' pushes keep it current meanwhile.
    if (isConnected) void loadRollouts()
  }, [isConnected, loadRollouts])

  return (
    <div className="fleet-page" data-testid="rollouts-page">
      <div className="fleet-main">
        <div className="toolbar">
          <button type="button" className="primary" data-testid="rollout-new" onClick={() => openRolloutWizard(true)} disabled={isWizardOpen}>
            New rollout
          </button>
        </div>
        {isWizardOpen && <RolloutWizard models={models} devices={devices} />}
        {loadError && <ErrorNotice error={loadError} onRetry={() => void loadRollouts()} />}
        {rollouts.length === 0
          ? load === 'ready' &&
            !isWizardOpen && (
              <EmptyState title="No rollouts yet" commands={['outpost rollout create --model MODEL_ID --start', 'outpost rollout dry-run --model MODEL_ID --synthetic 1000 --failure-rate 0.03']}>
                <p>
                  A rollout sends a model to the fleet in waves (a canary of max(5 devices, 1%), then 10%, 50%, 100%) and halts, rolling the wave back,
                  when installs fail, devices go silent, health checks fail or p95 latency grows. Press <strong>New rollout</strong>, or from a terminal:
                </p>
              </EmptyState>
            )
          : (
              <section className="panel" aria-labelledby="rollouts-heading">
                <h2 id="rollouts-heading">Rollouts</h2>
                <RolloutTable rollouts={rollouts} selectedId={selectedId} onSelect={selectRollout} />
              </section>
            )}
        {detailError && <ErrorNotice error={detailError} onRetry={() => selectRollout(selectedId)} />}
        {detail && detail.rolloutId === selectedId && <RolloutDetailPanel detail={detail} />}
      </div>
    </div>
  )
}

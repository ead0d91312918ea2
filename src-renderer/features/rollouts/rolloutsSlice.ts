import type { RolloutReportFile } from '../../../src-shared/contract/rolloutsContract.ts'
import type { DryRunResult, RolloutDetail, RolloutSpecInput, RolloutSummary, SimulationInput } from '../../../src-shared/domain/rollout.ts'
import type { OutpostClient } from '../../api/outpostClient.ts'
import type { SliceCreator } from '../../store/appState.ts'
import { asUiError, createPushLedger, type LoadState, type UiError } from '../../store/loadState.ts'

/** The UI's name in the audit log; the control center adds the connection it came over. */
export const UI_ACTOR = 'ui'

export type RolloutVerb = 'start' | 'pause' | 'resume' | 'approve' | 'retry' | 'abort' | 'rollback' | 'create' | 'report'

export type RolloutActionState =
  | { status: 'idle' }
  | { status: 'running'; verb: RolloutVerb }
  | { status: 'failed'; verb: RolloutVerb; error: UiError }

export type DryRunState = { status: 'idle' } | { status: 'running' } | { status: 'done'; result: DryRunResult } | { status: 'failed'; error: UiError }

export interface RolloutsSlice {
  rolloutsById: Record<string, RolloutSummary>
  rolloutsLoad: LoadState
  selectedRolloutId: string | null
  /** The selected rollout with its device rows, refreshed when it progresses. */
  rolloutDetail: RolloutDetail | null
  rolloutDetailLoad: LoadState
  rolloutAction: RolloutActionState
  dryRun: DryRunState
  isRolloutWizardOpen: boolean
  loadRollouts: () => Promise<void>
  applyRolloutProgressed: (summary: RolloutSummary) => void
  selectRollout: (rolloutId: string | null) => void
  refreshRolloutDetail: () => Promise<void>
  openRolloutWizard: (isOpen: boolean) => void
  /** 'rollouts.create', then 'rollouts.start' when asked; selects the new rollout. */
  createRollout: (spec: RolloutSpecInput, options: { start: boolean; reason: string }) => Promise<void>
  actOnRollout: (verb: 'start' | 'pause' | 'resume' | 'approve' | 'retry', rolloutId: string) => Promise<void>
  abortRollout: (rolloutId: string, mode: 'keep' | 'rollback', reason: string) => Promise<void>
  rollBackRollout: (rolloutId: string, scope: 'wave' | 'all', reason: string) => Promise<void>
  runDryRun: (input: { spec?: RolloutSpecInput; rolloutId?: string; simulation: Partial<SimulationInput> }) => Promise<void>
  clearDryRun: () => void
  fetchRolloutReport: (rolloutId: string, format: 'json' | 'csv') => Promise<RolloutReportFile | null>
}

export const createRolloutsSlice =
  (client: OutpostClient): SliceCreator<RolloutsSlice> =>
  (set, get) => {
    const pushedDuringLoad = createPushLedger<RolloutSummary>()
    // Progress pushes come in bursts while a wave goes out: one detail fetch at a time, one more if pushes arrived.
    let detailFetch: Promise<void> | null = null
    let isDetailStale = false

    const showDetail = (detail: RolloutDetail) => {
      const { devices: _devices, ...summary } = detail
      set((state) => ({
        rolloutDetail: state.selectedRolloutId === detail.rolloutId ? detail : state.rolloutDetail,
        rolloutDetailLoad: 'ready',
        rolloutsById: { ...state.rolloutsById, [detail.rolloutId]: summary },
      }))
    }

    const run = async (verb: RolloutVerb, call: () => Promise<RolloutDetail>) => {
      set({ rolloutAction: { status: 'running', verb } })
      try {
        const detail = await call()
        set({ selectedRolloutId: detail.rolloutId, rolloutAction: { status: 'idle' } })
        showDetail(detail)
      } catch (error) {
        set({ rolloutAction: { status: 'failed', verb, error: asUiError(error) } })
      }
    }

    return {
      rolloutsById: {},
      rolloutsLoad: 'idle',
      selectedRolloutId: null,
      rolloutDetail: null,
      rolloutDetailLoad: 'idle',
      rolloutAction: { status: 'idle' },
      dryRun: { status: 'idle' },
      isRolloutWizardOpen: false,
      async loadRollouts() {
        set({ rolloutsLoad: 'loading' })
        const pushed = pushedDuringLoad.open()
        try {
          const rollouts = await client.call('rollouts.list', {})
          const listed = Object.fromEntries(rollouts.map((rollout) => [rollout.rolloutId, rollout]))
          set({ rolloutsById: { ...listed, ...Object.fromEntries(pushed) }, rolloutsLoad: 'ready' })
          if (get().selectedRolloutId !== null) void get().refreshRolloutDetail()
        } catch (error) {
          set({ rolloutsLoad: { error: asUiError(error) } })
        } finally {
          pushedDuringLoad.close(pushed)
        }
      },
      applyRolloutProgressed(summary) {
        pushedDuringLoad.record(summary.rolloutId, summary)
        set((state) => ({ rolloutsById: { ...state.rolloutsById, [summary.rolloutId]: summary } }))
        if (get().selectedRolloutId === summary.rolloutId) void get().refreshRolloutDetail()
      },
      selectRollout(rolloutId) {
        set({ selectedRolloutId: rolloutId, rolloutDetail: null, rolloutDetailLoad: rolloutId === null ? 'idle' : 'loading', isRolloutWizardOpen: false })
        if (rolloutId !== null) void get().refreshRolloutDetail()
      },
      async refreshRolloutDetail() {
        if (detailFetch) {
          isDetailStale = true
          return detailFetch
        }
        detailFetch = (async () => {
          do {
            isDetailStale = false
            const rolloutId = get().selectedRolloutId
            if (rolloutId === null) return
            try {
              showDetail(await client.call('rollouts.status', { rolloutId }))
            } catch (error) {
              set({ rolloutDetailLoad: { error: asUiError(error) } })
              return
            }
          } while (isDetailStale)
        })().finally(() => {
          detailFetch = null
        })
        return detailFetch
      },
      openRolloutWizard: (isOpen) => set({ isRolloutWizardOpen: isOpen, ...(isOpen ? { dryRun: { status: 'idle' as const } } : {}) }),
      async createRollout(spec, { start, reason }) {
        await run('create', async () => {
          const created = await client.call('rollouts.create', { ...spec, actor: UI_ACTOR, reason })
          return start ? client.call('rollouts.start', { rolloutId: created.rolloutId, actor: UI_ACTOR, reason }) : created
        })
        if (get().rolloutAction.status === 'idle') set({ isRolloutWizardOpen: false })
      },
      actOnRollout: (verb, rolloutId) => run(verb, () => client.call(`rollouts.${verb}`, { rolloutId, actor: UI_ACTOR })),
      abortRollout: (rolloutId, mode, reason) => run('abort', () => client.call('rollouts.abort', { rolloutId, mode, reason, actor: UI_ACTOR })),
      rollBackRollout: (rolloutId, scope, reason) => run('rollback', () => client.call('rollouts.rollback', { rolloutId, scope, reason, actor: UI_ACTOR })),
      async runDryRun(input) {
        set({ dryRun: { status: 'running' } })
        try {
          set({ dryRun: { status: 'done', result: await client.call('rollouts.dryRun', input) } })
        } catch (error) {
          set({ dryRun: { status: 'failed', error: asUiError(error) } })
        }
      },
      clearDryRun: () => set({ dryRun: { status: 'idle' } }),
      async fetchRolloutReport(rolloutId, format) {
        try {
          return await client.call('rollouts.report', { rolloutId, format })
        } catch (error) {
          set({ rolloutAction: { status: 'failed', verb: 'report', error: asUiError(error) } })
          return null
        }
      },
    }
  }

import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { rolloutsMethods } from '../../../src-shared/contract/rolloutsContract.ts'
import type { RolloutDetail, RolloutSpecInput } from '../../../src-shared/domain/rollout.ts'
import { AppError } from '../../../src-shared/errors.ts'
import type { Handlers } from '../../../src-shared/rpc/types.ts'
import { App } from '../../App.tsx'
import { aDevice, aModel } from '../../testing/builders.ts'
import { renderWithServer } from '../../testing/renderWithServer.tsx'
import { aDryRunResult, aGateDecision, aRolloutDetail, aWave } from './rolloutBuilders.ts'
import { RolloutsPage } from './RolloutsPage.tsx'
import { specFromForm, defaultRolloutForm, parseWaveList } from './specForm.ts'

afterEach(cleanup)

/** In-memory rollouts for the page: what it sent, and the state a test moves along. */
function fakeRollouts(initial: RolloutDetail[] = []) {
  const byId = new Map(initial.map((detail) => [detail.rolloutId, detail]))
  const created: RolloutSpecInput[] = []
  const aborts: Array<{ mode: string; reason: string }> = []
  const summary = ({ devices: _devices, ...rest }: RolloutDetail) => rest
  const mustGet = (rolloutId: string) => {
    const detail = byId.get(rolloutId)
    if (!detail) throw new AppError('not-found', `No rollout ${rolloutId}`)
    return detail
  }
  const handlers: Partial<Handlers<typeof rolloutsMethods>> = {
    'rollouts.list': async () => [...byId.values()].map(summary),
    'rollouts.status': async ({ rolloutId }) => mustGet(rolloutId),
    'rollouts.create': async ({ actor: _actor, reason: _reason, ...spec }) => {
      created.push(spec)
      const detail = aRolloutDetail({ rolloutId: 'r-00000000000a', spec: { ...aRolloutDetail().spec, name: spec.name ?? 'unnamed' } })
      byId.set(detail.rolloutId, detail)
      return detail
    },
    'rollouts.start': async ({ rolloutId }) => {
      const detail = mustGet(rolloutId)
      const started: RolloutDetail = {
        ...detail,
        status: 'running',
        currentWave: 0,
        startedAt: '2025-03-01T00:01:00.000Z',
        waves: [aWave(0, { status: 'active', startedAt: '2025-03-01T00:01:00.000Z', decision: aGateDecision() }), aWave(1)],
      }
      byId.set(rolloutId, started)
      return started
    },
    'rollouts.abort': async ({ rolloutId, mode, reason }) => {
      aborts.push({ mode, reason })
      const aborted: RolloutDetail = { ...mustGet(rolloutId), status: 'aborted', abortMode: mode }
      byId.set(rolloutId, aborted)
      return aborted
    },
    'rollouts.dryRun': async () => aDryRunResult(),
  }
  return { handlers, byId, created, aborts, summary }
}

const models = [aModel()]
const devices = [aDevice({ deviceId: 'd-1' }), aDevice({ deviceId: 'd-2' })]

describe('RolloutsPage', () => {
  it('is reachable from the navigation', async () => {
    renderWithServer(<App />, { models, devices, rollouts: fakeRollouts().handlers })
    fireEvent.click(await screen.findByTestId('nav-rollouts'))
    expect(await screen.findByTestId('rollouts-page')).toBeTruthy()
    expect((await screen.findByTestId('empty-state')).textContent).toContain('outpost rollout create')
  })

  it('plans, previews and starts a rollout from the wizard, then follows its waves live', async () => {
    const fake = fakeRollouts()
    const { server } = renderWithServer(<RolloutsPage />, { models, devices, rollouts: fake.handlers })
    fireEvent.click(await screen.findByTestId('rollout-new'))
    const wizard = await screen.findByTestId('rollout-wizard')

    fireEvent.change(within(wizard).getByLabelText('Waves'), { target: { value: '10, 5, 100' } })
    fireEvent.click(within(wizard).getByTestId('rollout-create-start'))
    expect((await within(wizard).findByTestId('rollout-form-problem')).textContent).toMatch(/cumulative/)

    fireEvent.change(within(wizard).getByLabelText('Waves'), { target: { value: '1:5, 10, 50, 100' } })
    fireEvent.change(within(wizard).getByLabelText('Failure rate'), { target: { value: '20' } })
    fireEvent.click(within(wizard).getByTestId('rollout-dry-run'))
    expect((await within(wizard).findByTestId('dry-run-outcome')).textContent).toContain('halted (install-failures)')
    expect(within(wizard).getByTestId('dry-run-exposed').textContent).toBe('100')

    fireEvent.click(within(wizard).getByTestId('rollout-create-start'))
    await waitFor(() => expect(screen.getByTestId('rollout-state').textContent).toBe('running'))
    expect(screen.queryByTestId('rollout-wizard')).toBeNull()
    expect(fake.created[0]).toMatchObject({
      release: { variants: [{ name: 'default', modelId: 'm-0123456789ab' }] },
      waves: [{ cumulativePercent: 1, minDevices: 5 }, { cumulativePercent: 10 }, { cumulativePercent: 50 }, { cumulativePercent: 100 }],
      soakMs: 30 * 60_000,
      gates: { maxInstallFailureRatio: 0.05, maxLatencyRatio: 1.2 },
      onBreach: 'halt-and-rollback',
    })
    expect(screen.getByTestId('wave-1-status').dataset.status).toBe('active')
    expect(screen.getByTestId('wave-2-status').dataset.status).toBe('pending')

    // The control center pushes progress: the canary halted on latency.
    const halted: RolloutDetail = {
      ...(fake.byId.get('r-00000000000a') as RolloutDetail),
      status: 'halted',
      haltReasons: ['latency-regression'],
      waves: [
        aWave(0, {
          status: 'halted',
          decision: aGateDecision({ verdict: 'halt', reasons: ['latency-regression'], values: { ...aGateDecision().values, latencyRatio: 1.4, latencyBasis: 'same-devices', latencyDeviceCount: 5 } }),
        }),
        aWave(1),
      ],
    }
    fake.byId.set(halted.rolloutId, halted)
    server.hub.emit('rollout.progressed', fake.summary(halted))
    await waitFor(() => expect(screen.getByTestId('rollout-state').textContent).toBe('halted'))
    const wave1 = screen.getByTestId('wave-1-status')
    expect(wave1.dataset.verdict).toBe('halt')
    expect(wave1.textContent).toContain('1.40× (same-devices, 5 devices)')
    expect(screen.getByTestId('rollout-halt-reasons').textContent).toContain('latency-regression')
    expect(screen.getByTestId('wave-chart')).toBeTruthy()
  })

  it('starts a draft chosen from the list', async () => {
    const fake = fakeRollouts([aRolloutDetail({ rolloutId: 'r-0000000000d1', spec: { ...aRolloutDetail().spec, name: 'night build' } })])
    renderWithServer(<RolloutsPage />, { models, devices, rollouts: fake.handlers })
    const row = await screen.findByTestId('rollout-row-r-0000000000d1')
    fireEvent.click(within(row).getByRole('button', { name: 'night build' }))
    expect((await screen.findByTestId('rollout-state')).textContent).toBe('draft')
    fireEvent.click(screen.getByTestId('rollout-start'))
    await waitFor(() => expect(screen.getByTestId('rollout-state').textContent).toBe('running'))
    expect(within(screen.getByTestId('rollout-row-r-0000000000d1')).getByText('running')).toBeTruthy()
  })

  it('asks why before aborting with a rollback, and shows a refused action with its code', async () => {
    const running = aRolloutDetail({ rolloutId: 'r-0000000000e1', status: 'running', currentWave: 0, waves: [aWave(0, { status: 'active' }), aWave(1)] })
    const fake = fakeRollouts([running])
    const { server, store } = renderWithServer(<RolloutsPage />, { models, devices, rollouts: fake.handlers })
    store.getState().selectRollout('r-0000000000e1')
    const abort = await screen.findByTestId<HTMLButtonElement>('rollout-abort-rollback')
    expect(abort.disabled).toBe(true)
    fireEvent.change(screen.getByTestId('rollout-reason'), { target: { value: 'support tickets' } })
    server.failNext('rollouts.abort', new AppError('conflict', 'Rollout r-0000000000e1 is completed'))
    fireEvent.click(abort)
    expect((await screen.findByTestId('error-notice')).dataset.errorCode).toBe('conflict')
    fireEvent.click(screen.getByTestId('rollout-abort-rollback'))
    await waitFor(() => expect(screen.getByTestId('rollout-state').textContent).toBe('aborted'))
    expect(fake.aborts).toEqual([{ mode: 'rollback', reason: 'support tickets' }])
  })
})

describe('specFromForm', () => {
  it('turns the default form into the documented defaults', () => {
    expect(specFromForm(defaultRolloutForm('m-0123456789ab'))).toMatchObject({
      waves: [{ cumulativePercent: 1, minDevices: 5 }, { cumulativePercent: 10 }, { cumulativePercent: 50 }, { cumulativePercent: 100 }],
      soakMs: 1_800_000,
      target: { deviceIds: [], minMemoryBytes: null },
      rate: { maxPerMinute: null, ramp: null },
    })
  })

  it.each([
    ['no model', { variants: [{ name: 'default', modelId: '', executionProviders: '' }] }, /Pick the model/],
    ['devices mode without devices', { targetMode: 'devices' as const }, /Tick at least one device/],
    ['a bad window', { window: '2am' }, /not HH:MM-HH:MM/],
    ['a rate of zero', { maxPerMinute: '0' }, /Devices per minute/],
  ])('explains %s', (_name, patch, message) => {
    expect(specFromForm({ ...defaultRolloutForm('m-0123456789ab'), ...patch })).toMatch(message)
  })

  it('reads variants with their execution providers and the ramp', () => {
    const spec = specFromForm({
      ...defaultRolloutForm('m-0123456789ab'),
      variants: [
        { name: 'fp16', modelId: 'm-cccccccccccc', executionProviders: 'cuda, tensorrt' },
        { name: 'int8', modelId: 'm-0123456789ab', executionProviders: '' },
      ],
      ramp: true,
      window: '02:00-05:00',
    })
    expect(spec).toMatchObject({
      release: { variants: [{ name: 'fp16', requirements: { executionProviders: ['cuda', 'tensorrt'] } }, { name: 'int8', requirements: { executionProviders: [] } }] },
      rate: { ramp: { basePerMinute: 10, factor: 2, successesPerStep: 20 } },
      maintenanceWindows: [{ startMinuteUtc: 120, endMinuteUtc: 300, daysUtc: [] }],
    })
    expect(parseWaveList('50, 100%')).toEqual([{ cumulativePercent: 50 }, { cumulativePercent: 100 }])
  })
})

import { useState } from 'react'
import type { DeviceSummary } from '../../../src-shared/domain/device.ts'
import type { ModelSummary } from '../../../src-shared/domain/model.ts'
import type { SimulationInput } from '../../../src-shared/domain/rollout.ts'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { useAppStore } from '../../store/StoreContext.tsx'
import { DryRunPreview } from './DryRunPreview.tsx'
import { defaultRolloutForm, specFromForm, type RolloutForm, type VariantRow } from './specForm.ts'

interface SimulationForm {
  synthetic: string
  failurePercent: string
  onlinePercent: string
  latencyRatio: string
}

function simulationOf(form: SimulationForm): Partial<SimulationInput> | string {
  const read = (text: string, label: string, min: number, max: number) => {
    const value = Number(text)
    return text.trim() === '' || !Number.isFinite(value) || value < min || value > max ? `${label} must be a number from ${min} to ${max}` : value
  }
  const failure = read(form.failurePercent, 'Failure rate', 0, 100)
  const online = read(form.onlinePercent, 'Online share', 0, 100)
  const latency = read(form.latencyRatio, 'Latency ratio', 0.01, 100)
  const synthetic = form.synthetic.trim() === '' ? null : read(form.synthetic, 'Synthetic devices', 1, 100_000)
  for (const value of [failure, online, latency, synthetic]) if (typeof value === 'string') return value
  return {
    syntheticDeviceCount: synthetic as number | null,
    failureRate: (failure as number) / 100,
    onlineRatio: (online as number) / 100,
    latencyRatio: latency as number,
  }
}

/** Release, target, waves, gates and pace of a new rollout, with a dry-run preview before anything is sent. */
export function RolloutWizard({ models, devices }: { models: ModelSummary[]; devices: DeviceSummary[] }) {
  const [form, setForm] = useState<RolloutForm>(() => defaultRolloutForm(models[0]?.modelId ?? ''))
  const [simulation, setSimulation] = useState<SimulationForm>({ synthetic: '', failurePercent: '0', onlinePercent: '100', latencyRatio: '1' })
  const [problem, setProblem] = useState<string | null>(null)
  const action = useAppStore((state) => state.rolloutAction)
  const dryRun = useAppStore((state) => state.dryRun)
  const createRollout = useAppStore((state) => state.createRollout)
  const runDryRun = useAppStore((state) => state.runDryRun)
  const openRolloutWizard = useAppStore((state) => state.openRolloutWizard)
  const isBusy = action.status === 'running' || dryRun.status === 'running'

  const update = (patch: Partial<RolloutForm>) => setForm((previous) => ({ ...previous, ...patch }))
  const updateVariant = (index: number, patch: Partial<VariantRow>) =>
    update({ variants: form.variants.map((variant, at) => (at === index ? { ...variant, ...patch } : variant)) })
  const toggleDevice = (deviceId: string, isChecked: boolean) =>
    update({ deviceIds: isChecked ? [...form.deviceIds, deviceId] : form.deviceIds.filter((id) => id !== deviceId) })

  const submit = (start: boolean) => {
    const spec = specFromForm(form)
    if (typeof spec === 'string') return setProblem(spec)
    setProblem(null)
    void createRollout(spec, { start, reason: form.reason })
  }
  const preview = () => {
    const spec = specFromForm(form)
    const sim = simulationOf(simulation)
    if (typeof spec === 'string' || typeof sim === 'string') return setProblem(typeof spec === 'string' ? spec : (sim as string))
    setProblem(null)
    void runDryRun({ spec, simulation: sim })
  }

  return (
    <section className="panel" aria-labelledby="wizard-heading" data-testid="rollout-wizard">
      <h2 id="wizard-heading">New rollout</h2>
      <form onSubmit={(event) => event.preventDefault()}>
        <fieldset>
          <legend>Release</legend>
          <label className="block">
            Name <input value={form.name} placeholder="rollout of …" onChange={(event) => update({ name: event.target.value })} />
          </label>
          {form.variants.map((variant, index) => (
            <div className="form-row" key={index}>
              <label>
                Variant <input aria-label={`Variant ${index + 1} name`} value={variant.name} onChange={(event) => updateVariant(index, { name: event.target.value })} size={10} />
              </label>
              <label>
                Model{' '}
                <select data-testid={`rollout-model-${index}`} value={variant.modelId} onChange={(event) => updateVariant(index, { modelId: event.target.value })}>
                  {models.length === 0 && <option value="">Import a model first</option>}
                  {models.map((model) => (
                    <option key={model.modelId} value={model.modelId}>
                      {model.name}@{model.version} ({model.modelId})
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Needs EP <input aria-label={`Variant ${index + 1} execution providers`} value={variant.executionProviders} placeholder="any, or cuda" size={10} onChange={(event) => updateVariant(index, { executionProviders: event.target.value })} />
              </label>
              {form.variants.length > 1 && (
                <button type="button" onClick={() => update({ variants: form.variants.filter((_, at) => at !== index) })}>
                  Remove
                </button>
              )}
            </div>
          ))}
          <button type="button" onClick={() => update({ variants: [...form.variants, { name: `variant-${form.variants.length + 1}`, modelId: models[0]?.modelId ?? '', executionProviders: '' }] })}>
            Add variant
          </button>
          <p className="muted">Each device gets the first variant whose execution providers it reports; devices no variant fits are skipped before any download.</p>
        </fieldset>

        <fieldset>
          <legend>Target</legend>
          <label>
            <input type="radio" name="target" checked={form.targetMode === 'all'} onChange={() => update({ targetMode: 'all' })} /> Whole fleet
          </label>{' '}
          <label>
            <input type="radio" name="target" data-testid="rollout-target-devices" checked={form.targetMode === 'devices'} onChange={() => update({ targetMode: 'devices' })} /> Chosen devices
          </label>
          {form.targetMode === 'devices' && (
            <ul className="checkbox-list">
              {devices.map((device) => (
                <li key={device.deviceId}>
                  <label>
                    <input type="checkbox" checked={form.deviceIds.includes(device.deviceId)} onChange={(event) => toggleDevice(device.deviceId, event.target.checked)} /> {device.deviceId}
                  </label>
                </li>
              ))}
            </ul>
          )}
          <div className="form-row">
            <label>
              Arch <input value={form.arch} placeholder="x64, arm64" size={10} onChange={(event) => update({ arch: event.target.value })} />
            </label>
            <label>
              EP <input value={form.executionProviders} placeholder="cuda" size={8} onChange={(event) => update({ executionProviders: event.target.value })} />
            </label>
            <label>
              Min RAM (MiB) <input value={form.minMemoryMb} size={6} onChange={(event) => update({ minMemoryMb: event.target.value })} />
            </label>
            <label>
              Tags <input value={form.tags} size={10} onChange={(event) => update({ tags: event.target.value })} />
            </label>
            <label>
              Groups <input value={form.groups} size={10} onChange={(event) => update({ groups: event.target.value })} />
            </label>
          </div>
        </fieldset>

        <fieldset>
          <legend>Waves and gates</legend>
          <div className="form-row">
            <label>
              Waves (cumulative %) <input aria-label="Waves" value={form.waves} onChange={(event) => update({ waves: event.target.value })} />
            </label>
            <label>
              Soak (min) <input aria-label="Soak minutes" value={form.soakMinutes} size={4} onChange={(event) => update({ soakMinutes: event.target.value })} />
            </label>
            <label>
              <input type="checkbox" checked={form.requireApproval} onChange={(event) => update({ requireApproval: event.target.checked })} /> Approve each wave
            </label>
          </div>
          <div className="form-row">
            <label>
              Halt at install failures (%) <input value={form.maxFailurePercent} size={4} onChange={(event) => update({ maxFailurePercent: event.target.value })} />
            </label>
            <label>
              Halt at p95 ratio <input value={form.maxLatencyRatio} size={4} onChange={(event) => update({ maxLatencyRatio: event.target.value })} />
            </label>
            <label>
              On a breach{' '}
              <select value={form.onBreach} onChange={(event) => update({ onBreach: event.target.value === 'halt' ? 'halt' : 'halt-and-rollback' })}>
                <option value="halt-and-rollback">halt and roll the wave back</option>
                <option value="halt">halt only</option>
              </select>
            </label>
          </div>
        </fieldset>

        <fieldset>
          <legend>Pace</legend>
          <div className="form-row">
            <label>
              Devices per minute <input value={form.maxPerMinute} placeholder="no limit" size={8} onChange={(event) => update({ maxPerMinute: event.target.value })} />
            </label>
            <label>
              <input type="checkbox" checked={form.ramp} onChange={(event) => update({ ramp: event.target.checked })} /> Ramp (10/min, ×2 every 20 successes)
            </label>
            <label>
              Window (UTC) <input value={form.window} placeholder="02:00-05:00" size={11} onChange={(event) => update({ window: event.target.value })} />
            </label>
          </div>
        </fieldset>

        <fieldset>
          <legend>Dry run</legend>
          <div className="form-row">
            <label>
              Synthetic devices <input aria-label="Synthetic devices" value={simulation.synthetic} placeholder="current fleet" size={8} onChange={(event) => setSimulation({ ...simulation, synthetic: event.target.value })} />
            </label>
            <label>
              Failure rate (%) <input aria-label="Failure rate" value={simulation.failurePercent} size={4} onChange={(event) => setSimulation({ ...simulation, failurePercent: event.target.value })} />
            </label>
            <label>
              Online (%) <input aria-label="Online share" value={simulation.onlinePercent} size={4} onChange={(event) => setSimulation({ ...simulation, onlinePercent: event.target.value })} />
            </label>
            <label>
              p95 ratio <input aria-label="Simulated latency ratio" value={simulation.latencyRatio} size={4} onChange={(event) => setSimulation({ ...simulation, latencyRatio: event.target.value })} />
            </label>
            <button type="button" data-testid="rollout-dry-run" disabled={isBusy} onClick={preview}>
              {dryRun.status === 'running' ? 'Simulating…' : 'Preview'}
            </button>
          </div>
          {dryRun.status === 'done' && <DryRunPreview result={dryRun.result} />}
          {dryRun.status === 'failed' && <ErrorNotice error={dryRun.error} />}
        </fieldset>

        <label className="block">
          Why (audit log) <input value={form.reason} onChange={(event) => update({ reason: event.target.value })} />
        </label>
        {problem && (
          <p className="error-detail" role="alert" data-testid="rollout-form-problem">
            {problem}
          </p>
        )}
        {action.status === 'failed' && action.verb === 'create' && <ErrorNotice error={action.error} />}
        <div className="toolbar">
          <button type="button" data-testid="rollout-create" disabled={isBusy} onClick={() => submit(false)}>
            Save as draft
          </button>
          <button type="button" className="primary" data-testid="rollout-create-start" disabled={isBusy} onClick={() => submit(true)}>
            Create and start
          </button>
          <button type="button" onClick={() => openRolloutWizard(false)}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  )
}

import { useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { DeviceId, ModelId } from '../../../src-shared/domain/ids.ts'
import type { ModelSummary } from '../../../src-shared/domain/model.ts'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { StatusBadge } from '../../components/StatusBadge.tsx'
import { selectDeployTargets } from '../../store/selectors.ts'
import { useAppStore } from '../../store/StoreContext.tsx'

/** Pick a model and devices, send 'models.deploy', show the directives it produced. */
export function DeployPanel({ models }: { models: ModelSummary[] }) {
  const devices = useAppStore(useShallow(selectDeployTargets))
  const deploy = useAppStore((state) => state.deploy)
  const deployModel = useAppStore((state) => state.deployModel)
  // ModelId is a plain string at runtime; '' means the user has not picked one.
  const [chosenModelId, setChosenModelId] = useState<ModelId>('')
  const [chosenDeviceIds, setChosenDeviceIds] = useState<ReadonlySet<DeviceId>>(new Set())

  // Until the user picks one, the newest model is proposed; a pick that was since removed falls back to it.
  const modelId = models.some((model) => model.modelId === chosenModelId) ? chosenModelId : (models[0]?.modelId ?? '')
  const knownDeviceIds = new Set(devices.map((device) => device.deviceId))
  const deviceIds = [...chosenDeviceIds].filter((deviceId) => knownDeviceIds.has(deviceId))
  const isRunning = deploy.status === 'running'
  const canSubmit = modelId !== '' && deviceIds.length > 0 && !isRunning

  const toggle = (deviceId: DeviceId, isChecked: boolean) =>
    setChosenDeviceIds((previous) => {
      const next = new Set(previous)
      if (isChecked) next.add(deviceId)
      else next.delete(deviceId)
      return next
    })

  return (
    <section className="panel" aria-labelledby="deploy-heading">
      <h2 id="deploy-heading">Deploy</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault()
          if (canSubmit) void deployModel(modelId, deviceIds)
        }}
      >
        <label className="block">
          Model
          <select
            data-testid="deploy-model-select"
            value={modelId}
            onChange={(event) => setChosenModelId(event.target.value)}
            disabled={models.length === 0}
          >
            {models.length === 0 && <option value="">Import a model first</option>}
            {models.map((model) => (
              <option key={model.modelId} value={model.modelId}>
                {model.name}@{model.version} ({model.modelId})
              </option>
            ))}
          </select>
        </label>
        <fieldset className="device-picker">
          <legend>Devices</legend>
          {devices.length === 0 ? (
            <p className="muted">No devices yet; they appear here once their agent connects.</p>
          ) : (
            <>
              <div className="picker-actions">
                <button
                  type="button"
                  onClick={() => setChosenDeviceIds(new Set(devices.filter((d) => d.isOnline).map((d) => d.deviceId)))}
                >
                  Select online
                </button>
                <button type="button" onClick={() => setChosenDeviceIds(new Set())}>
                  Clear
                </button>
              </div>
              <ul className="checkbox-list">
                {devices.map((device) => (
                  <li key={device.deviceId}>
                    <label>
                      <input
                        type="checkbox"
                        data-testid={`deploy-device-${device.deviceId}`}
                        checked={chosenDeviceIds.has(device.deviceId)}
                        onChange={(event) => toggle(device.deviceId, event.target.checked)}
                      />{' '}
                      {device.deviceId} <StatusBadge isOnline={device.isOnline} />
                    </label>
                  </li>
                ))}
              </ul>
            </>
          )}
        </fieldset>
        <button type="submit" className="primary" data-testid="deploy-submit" disabled={!canSubmit}>
          {isRunning ? 'Deploying…' : `Deploy to ${deviceIds.length} device${deviceIds.length === 1 ? '' : 's'}`}
        </button>
      </form>
      <div data-testid="deploy-result" className="deploy-result" aria-live="polite">
        {deploy.status === 'running' && <p>Sending the model to {deploy.deviceIds.length} device(s)…</p>}
        {deploy.status === 'done' && (
          <>
            <p className="success">
              Deployment sent to {deploy.directives.length} device{deploy.directives.length === 1 ? '' : 's'}. Each
              downloads the model and reports its progress on the Fleet page.
            </p>
            <ul>
              {deploy.directives.map((directive) => (
                <li key={directive.deviceId}>
                  {directive.deviceId} <span className="muted">directive #{directive.seq}</span>
                </li>
              ))}
            </ul>
          </>
        )}
        {deploy.status === 'failed' && <ErrorNotice error={deploy.error} />}
      </div>
    </section>
  )
}

import { expect, test } from './fixtures.ts'
import { DEMO_DEVICE_IDS, OutpostShell } from './pages/OutpostShell.ts'

test('an operator previews a rollout of the sample model to the whole demo fleet, starts it and sees every device commit', async ({ app }, testInfo) => {
  const shell = new OutpostShell(app, testInfo)
  await shell.waitConnected()
  await shell.waitFleetOnline()
  const modelId = await shell.sampleModelId()

  await shell.goTo('rollouts')
  await app.getByTestId('rollout-new').click()
  const wizard = app.getByTestId('rollout-wizard')
  await expect(wizard.getByTestId('rollout-model-0')).toHaveValue(modelId)
  await wizard.getByRole('textbox', { name: 'Name', exact: true }).fill('e2e sample to demo fleet')
  await wizard.getByTestId('rollout-target-devices').check()
  for (const deviceId of DEMO_DEVICE_IDS) await wizard.getByRole('checkbox', { name: deviceId }).check()
  await wizard.getByLabel('Waves', { exact: true }).fill('100')
  await wizard.getByLabel('Soak minutes').fill('0')

  await wizard.getByTestId('rollout-dry-run').click()
  const preview = wizard.getByTestId('dry-run-result')
  await expect(preview.getByTestId('dry-run-outcome')).toHaveText('completed')
  await expect(preview.getByTestId('dry-run-exposed')).toHaveText('5')
  await shell.screenshot('1-dry-run')

  await wizard.getByTestId('rollout-create-start').click()
  const detail = app.getByTestId('rollout-detail')
  await expect(detail.getByTestId('rollout-state')).toHaveText('completed', { timeout: 60_000 })
  await expect(detail.getByTestId('rollout-outcomes')).toHaveText('committed: 5')
  for (const deviceId of DEMO_DEVICE_IDS) await expect(detail.getByTestId(`rollout-device-${deviceId}`).getByTestId('rollout-device-state')).toHaveText('committed')
  await shell.screenshot('2-completed')

  await shell.goTo('fleet')
  for (const deviceId of DEMO_DEVICE_IDS) await expect(shell.deviceRow(deviceId).getByTestId('device-model')).toHaveText('tiny-classifier@1.0.0')
  await shell.screenshot('3-fleet')
})

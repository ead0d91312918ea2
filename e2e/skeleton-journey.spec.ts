import { expect, test } from './fixtures.ts'

test('a newcomer sees the demo fleet come online, deploys the sample model to one device and sees its latency', async ({ app }, testInfo) => {
  await expect(app.getByTestId('connection-state')).toHaveText('connected')

  const rows = app.locator('[data-testid^="device-row-demo-"]')
  await expect(rows).toHaveCount(5)
  for (let i = 1; i <= 5; i++) {
    await expect(app.getByTestId(`device-row-demo-${i}`).getByTestId('device-status')).toHaveText('online')
  }
  await app.screenshot({ path: testInfo.outputPath('fleet-online.png'), fullPage: true })

  await app.getByTestId('nav-models').click()
  await expect(app.locator('[data-testid^="model-row-"]').getByTestId('model-name').first()).toHaveText(/tiny-classifier/)
  // The demo imports exactly one model, the sample classifier.
  await app.getByTestId('deploy-model-select').selectOption({ index: 0 })
  await app.getByTestId('deploy-device-demo-1').check()
  await app.getByTestId('deploy-submit').click()
  await expect(app.getByTestId('deploy-result')).toContainText('demo-1')
  await app.screenshot({ path: testInfo.outputPath('models-deployed.png'), fullPage: true })

  await app.getByTestId('nav-fleet').click()
  const device = app.getByTestId('device-row-demo-1')
  await expect(device.getByTestId('device-model')).toHaveText('tiny-classifier@1.0.0', { timeout: 60_000 })
  await expect(device.getByTestId('device-ep')).toHaveText('cpu')
  await expect(device.getByTestId('device-latency')).toHaveText(/p50 [0-9.]+ ms/, { timeout: 60_000 })
  // The model went to demo-1 only.
  await expect(app.getByTestId('device-row-demo-2').getByTestId('device-model')).toHaveText('—')
  await app.screenshot({ path: testInfo.outputPath('fleet-latency.png'), fullPage: true })
})

import { expect, test } from './fixtures.ts'
import { OutpostShell } from './pages/OutpostShell.ts'

test('after deploying the sample model to demo-1 the dashboards show the fleet overview and a latency chart', async ({ app }, testInfo) => {
  const shell = new OutpostShell(app, testInfo)
  await shell.waitConnected()
  await shell.waitFleetOnline()

  await shell.goTo('models')
  await app.getByTestId('deploy-model-select').selectOption({ index: 0 })
  await app.getByTestId('deploy-device-demo-1').check()
  await app.getByTestId('deploy-submit').click()
  await expect(app.getByTestId('deploy-result')).toContainText('demo-1')

  // Latency reaches the dashboards through telemetry, which the fleet page shows first.
  await shell.goTo('fleet')
  await expect(shell.deviceRow('demo-1').getByTestId('device-latency')).toHaveText(/p50 [0-9.]+ ms/, { timeout: 60_000 })

  await shell.goTo('drift')
  const dashboards = app.getByTestId('dashboards-page')
  await expect(dashboards.getByTestId('overview-online')).toHaveText('5/5')
  const chart = dashboards.getByTestId('latency-chart')
  await expect(chart).toBeVisible()
  await expect(chart.locator('svg.recharts-surface').first()).toBeVisible()
  await expect(chart).not.toContainText('No telemetry in this range')
  // The deployed model gets its own p50/p95/p99 series beside the devices that run no model.
  for (const percentile of ['p50', 'p95', 'p99']) await expect(chart.locator('.recharts-legend-wrapper')).toContainText(`tiny-classifier@1.0.0 ${percentile}`)
  await shell.screenshot('dashboards')
})

import { expect, test } from './fixtures.ts'
import { OutpostShell, recordProgressPhases } from './pages/OutpostShell.ts'

test('a model author inspects the sample model, optimizes it to int8 and compares the result with the original', async ({ app }, testInfo) => {
  const shell = new OutpostShell(app, testInfo)
  await shell.waitConnected()
  const modelId = await shell.sampleModelId()
  await expect(shell.modelRows()).toHaveCount(1)

  await app.getByTestId(`model-inspect-${modelId}`).click()
  const inspect = app.getByTestId('inspect-panel')
  await expect(inspect.getByTestId('inspect-inputs')).toContainText('features')
  await expect(inspect.getByTestId('inspect-outputs')).toContainText('probabilities')
  const operators = inspect.getByTestId('inspect-operators')
  await expect(operators.locator('tbody tr').first()).toBeVisible()
  // A softmax classifier: the op histogram names its final Softmax.
  await expect(operators).toContainText('Softmax')
  await expect(inspect.getByRole('figure', { name: 'Operator histogram' }).locator('svg').first()).toBeVisible()
  await shell.screenshot('1-inspect')

  await app.getByTestId(`model-optimize-${modelId}`).click()
  const optimize = app.getByTestId('optimize-panel')
  await optimize.getByTestId('optimize-recipe').selectOption('int8-dynamic')
  const optimizePhases = await recordProgressPhases(app, 'optimize-progress')
  await optimize.getByTestId('optimize-submit').click()
  await expect(optimize.getByTestId('optimize-result')).toBeVisible({ timeout: 60_000 })
  await expect(optimize.getByTestId('optimize-progress')).toHaveCount(0)
  await expect(optimize.getByTestId('optimize-result')).toContainText('Created')
  // The bar was shown while the optimization ran, then replaced by the result.
  const phases = await optimizePhases()
  testInfo.annotations.push({ type: 'optimize-phases', description: phases.join(',') })
  expect(phases.length).toBeGreaterThan(0)
  await expect(shell.modelRows()).toHaveCount(2)
  await shell.screenshot('2-optimized')

  await optimize.getByTestId('optimize-compare').click()
  const compare = app.getByTestId('compare-panel')
  await expect(compare.getByTestId('compare-baseline')).toHaveValue(modelId)
  await compare.getByTestId('compare-runs').fill('5')
  await compare.getByTestId('compare-submit').click()
  const result = compare.getByTestId('compare-result')
  await expect(result).toBeVisible({ timeout: 60_000 })
  await expect(compare.getByTestId('compare-progress')).toHaveCount(0)
  const verdict = result.getByTestId('release-ready')
  await expect(verdict).toHaveAttribute('data-ready', /^(true|false)$/)
  await expect(verdict).toContainText(/Release-ready|Not release-ready/)
  await expect(result.getByTestId('compare-agreement')).toHaveText(/\d/)
  await shell.screenshot('3-compared')
})

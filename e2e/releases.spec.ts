import { expect, test } from './fixtures.ts'
import { OutpostShell } from './pages/OutpostShell.ts'

test('without a trust root the Releases page says how to configure one and how releases are made', async ({ app }, testInfo) => {
  const shell = new OutpostShell(app, testInfo)
  await shell.waitConnected()
  await shell.goTo('releases')

  const releases = app.getByTestId('releases-page')
  const trust = releases.getByTestId('trust-status')
  await expect(trust).toContainText('No trust root')
  await expect(trust).toContainText('outpost serve --trust-dir DIR')
  await expect(trust).toContainText('outpost keys init')
  // Importing needs the trust root, so the import action is offered but disabled.
  await expect(releases.getByTestId('release-import-submit')).toBeDisabled()
  await expect(releases.getByText('No releases yet')).toBeVisible()
  await expect(releases).toContainText('outpost release sign')
  await expect(releases.getByTestId('release-table')).toHaveCount(0)
  await shell.screenshot('releases-no-trust')
})

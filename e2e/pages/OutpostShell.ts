/** The app shell shared by the journeys: connection, navigation, the demo fleet and screenshots. */
import { expect, type Locator, type Page, type TestInfo } from '@playwright/test'

export type PageName = 'fleet' | 'models' | 'releases' | 'rollouts' | 'drift'

export const DEMO_DEVICE_IDS = ['demo-1', 'demo-2', 'demo-3', 'demo-4', 'demo-5'] as const

export class OutpostShell {
  readonly page: Page
  readonly testInfo: TestInfo

  constructor(page: Page, testInfo: TestInfo) {
    this.page = page
    this.testInfo = testInfo
  }

  async waitConnected(): Promise<void> {
    await expect(this.page.getByTestId('connection-state')).toHaveText('connected')
  }

  async waitFleetOnline(): Promise<void> {
    await this.goTo('fleet')
    await expect(this.page.locator('[data-testid^="device-row-demo-"]')).toHaveCount(DEMO_DEVICE_IDS.length)
    for (const deviceId of DEMO_DEVICE_IDS) await expect(this.deviceRow(deviceId).getByTestId('device-status')).toHaveText('online')
  }

  async goTo(name: PageName): Promise<void> {
    const link = this.page.getByTestId(`nav-${name}`)
    await link.click()
    await expect(link).toHaveAttribute('aria-current', 'page')
  }

  deviceRow(deviceId: string): Locator {
    return this.page.getByTestId(`device-row-${deviceId}`)
  }

  modelRows(): Locator {
    return this.page.locator('[data-testid^="model-row-"]')
  }

  /** The demo imports exactly one model; its id is the suffix of its row's test id. */
  async sampleModelId(): Promise<string> {
    await this.goTo('models')
    const row = this.modelRows().filter({ has: this.page.getByTestId('model-name').filter({ hasText: 'tiny-classifier' }) }).first()
    await expect(row).toBeVisible()
    const testId = await row.getAttribute('data-testid')
    expect(testId).toMatch(/^model-row-/)
    return (testId ?? '').slice('model-row-'.length)
  }

  async screenshot(name: string): Promise<void> {
    await this.page.screenshot({ path: this.testInfo.outputPath(`${name}.png`), fullPage: true })
  }
}

/**
 * Records every phase a progress bar shows, from the moment this is called: a fast operation's bar can come and go
 * between two polls of a locator, but not unseen by a MutationObserver. The script is a string because e2e is
 * type-checked without DOM types.
 */
export async function recordProgressPhases(page: Page, testId: string): Promise<() => Promise<string[]>> {
  const key = `__phases_${testId.replace(/[^A-Za-z0-9_]/g, '_')}`
  const selector = JSON.stringify(`[data-testid="${testId}"]`)
  await page.evaluate(`(() => {
    const seen = []
    window[${JSON.stringify(key)}] = seen
    const note = (node) => {
      if (!(node instanceof Element)) return
      const bars = node.matches(${selector}) ? [node] : [...node.querySelectorAll(${selector})]
      for (const bar of bars) seen.push(bar.getAttribute('data-phase') ?? '')
    }
    new MutationObserver((records) => {
      for (const record of records) {
        if (record.type === 'attributes') note(record.target)
        for (const added of record.addedNodes) note(added)
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase'] })
  })()`)
  return async () => {
    const phases: unknown = await page.evaluate(`window[${JSON.stringify(key)}] ?? []`)
    return Array.isArray(phases) ? phases.map(String) : []
  }
}

/** Each test gets its own data dir, ports, embedded broker and demo fleet: `outpost serve --demo` as a real process. */
import { test as base, type Page } from '@playwright/test'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')

export interface ControlCenter {
  url: string
  token: string
  brokerUrl: string
  dataDir: string
  output: string[]
}

async function startControlCenter(args: string[], dataDir: string): Promise<{ child: ChildProcess; center: ControlCenter }> {
  const child = spawn(process.execPath, ['bin/outpost.js', 'serve', '--data-dir', dataDir, '--port', '0', '--broker-port', '0', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()))
  const center = await new Promise<ControlCenter>((resolve, reject) => {
    const found: Partial<ControlCenter> = { dataDir, output }
    const timer = setTimeout(() => reject(new Error(`control center not ready in 60 s:\n${output.join('')}`)), 60_000)
    child.once('exit', (code) => reject(new Error(`control center exited with ${code}:\n${output.join('')}`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      output.push(`${line}\n`)
      const [key, value] = line.split(' ', 2)
      if (key === 'ready' && value) found.url = value
      if (key === 'token' && value) found.token = value
      if (key === 'broker' && value) found.brokerUrl = value
      if (found.url && found.token && found.brokerUrl) {
        clearTimeout(timer)
        resolve(found as ControlCenter)
      }
    })
  })
  return { child, center }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

export const test = base.extend<{ demo: ControlCenter; app: Page }>({
  // eslint-disable-next-line no-empty-pattern
  demo: async ({}, use, testInfo) => {
    const dataDir = mkdtempSync(join(tmpdir(), `outpost-e2e-${testInfo.workerIndex}-`))
    const { child, center } = await startControlCenter(['--demo'], dataDir)
    await use(center)
    await stop(child)
    if (testInfo.status !== testInfo.expectedStatus) await testInfo.attach('control-center.log', { body: center.output.join('') })
    rmSync(dataDir, { recursive: true, force: true })
  },
  app: async ({ page, demo }, use) => {
    await page.goto(demo.url)
    await use(page)
  },
})

export { expect } from '@playwright/test'

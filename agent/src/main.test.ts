import { type ChildProcess, spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { ControlCenterHarness, buildArtifact, readFixtureModel, startTestBroker } from './testSupport/controlCenterHarness.ts'
import { eventually, makeTempDir } from './testSupport/testAgent.ts'

const launcher = fileURLToPath(new URL('../../bin/outpost-agent.js', import.meta.url))

interface Finished {
  code: number | null
  stdout: string
  stderr: string
}

function startCli(args: string[]): { child: ChildProcess; finished: Promise<Finished>; stdout: () => string } {
  const child = spawn(process.execPath, [launcher, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OUTPOST_AGENT_PASSWORD: '' } })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (data: Buffer) => (stdout += data.toString()))
  child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  const finished = new Promise<Finished>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    }),
  )
  return { child, finished, stdout: () => stdout }
}

const runCli = (args: string[]) => startCli(args).finished

describe('outpost-agent CLI', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it.each([
    [['--bogus'], 2, /^outpost-agent: error \[invalid-input\] Unknown option '--bogus'/],
    [['--broker', 'http://127.0.0.1', '--device-id', 'd-1'], 2, /^outpost-agent: error \[broker-url-invalid\] /],
    [['--simulate', '2', '--broker', 'mqtt://127.0.0.1:1', '--credentials', '/nonexistent/creds.json'], 2, /^outpost-agent: error \[invalid-input\] Cannot read credentials file/],
    [['--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd-1', '--data-dir', '/proc/outpost-agent-test'], 1, /^outpost-agent: error \[data-dir-unwritable\] /],
  ])('answers %j with one error line and exit code %i', async (args, expectedCode, line) => {
    const result = await runCli(args)
    expect(result.code).toBe(expectedCode)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(line)
    expect(result.stdout).toBe('')
  })

  it('rejects a credentials file with the wrong shape', async () => {
    const dir = await makeTempDir('outpost-cli-creds-')
    cleanups.push(dir.remove)
    const file = join(dir.path, 'creds.json')
    await writeFile(file, JSON.stringify({ devices: [{ deviceId: 'a', password: 'x' }] }))
    const result = await runCli(['--simulate', '1', '--broker', 'mqtt://127.0.0.1:1', '--credentials', file])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^outpost-agent: error \[invalid-input\] Credentials file .* at devices\.0\.username/)
  })

  it('prints help and the capability probe as JSON', async () => {
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage:/)
    const probe = await runCli(['--probe', '--json'])
    expect(probe.code).toBe(0)
    const parsed = JSON.parse(probe.stdout) as { hardware: { cpuCount: number }; executionProviders: Array<{ name: string; isAvailable: boolean }> }
    expect(parsed.hardware.cpuCount).toBeGreaterThan(0)
    expect(parsed.executionProviders).toContainEqual({ name: 'cpu', isAvailable: true })
  })

  it('simulates agents from a credentials file and takes them offline on SIGTERM', async () => {
    const broker = await startTestBroker()
    cleanups.push(() => broker.close())
    const harness = new ControlCenterHarness(broker)
    await harness.start()
    const dir = await makeTempDir('outpost-cli-sim-')
    cleanups.push(dir.remove)
    const credentials = join(dir.path, 'creds.json')
    const devices = ['cc-a', 'cc-b', 'cc-c'].map((deviceId) => ({ deviceId, username: deviceId, password: `pw-${deviceId}` }))
    await writeFile(credentials, JSON.stringify({ devices }))

    const cli = startCli(['--simulate', '2', '--broker', broker.url, '--data-dir', join(dir.path, 'fleet'), '--credentials', credentials, '--log-level', 'warn'])
    cleanups.push(async () => {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL')
    })
    for (const deviceId of ['cc-a', 'cc-b']) {
      await harness.waitFor((message) => message.deviceId === deviceId && message.kind === 'sync', 15_000, `sync from ${deviceId}`)
    }
    expect(broker.passwords.get('cc-a')).toBe('pw-cc-a')
    expect(broker.passwords.get('cc-b')).toBe('pw-cc-b')
    expect(broker.passwords.has('cc-c')).toBe(false)
    await eventually(() => cli.stdout().includes('\n'), 5_000, 'the stdout line')
    expect(cli.stdout()).toBe('simulating 2 agents\n')

    cli.child.kill('SIGTERM')
    const result = await cli.finished
    expect(result.code).toBe(0)
    for (const deviceId of ['cc-a', 'cc-b']) {
      const statuses = harness.from(deviceId, 'status')
      expect(statuses.at(-1)?.body.isOnline).toBe(false)
    }
  })

  it('leaves a retained offline status through its last will when killed outright', async () => {
    const broker = await startTestBroker()
    cleanups.push(() => broker.close())
    const harness = new ControlCenterHarness(broker)
    await harness.start()
    const dir = await makeTempDir('outpost-cli-will-')
    cleanups.push(dir.remove)
    const cli = startCli(['--broker', broker.url, '--device-id', 'd-will', '--data-dir', dir.path, '--log-level', 'silent', '--api-port', '0'])
    cleanups.push(async () => {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL')
    })
    await harness.waitFor((message) => message.deviceId === 'd-will' && message.kind === 'sync', 15_000, 'sync')
    cli.child.kill('SIGKILL')
    await cli.finished
    const will = await harness.waitFor((message) => message.kind === 'status' && message.body.isOnline === false, 10_000, 'last will')
    expect(will.body.deviceId).toBe('d-will')
  })

  it('crashes at the chosen install state by fault injection and converges after a restart', async () => {
    const broker = await startTestBroker()
    cleanups.push(() => broker.close())
    const harness = new ControlCenterHarness(broker)
    await harness.start()
    const dir = await makeTempDir('outpost-cli-crash-')
    cleanups.push(dir.remove)
    const artifact = buildArtifact(readFixtureModel(), { chunkSizeBytes: 8192 })
    harness.serve(artifact)
    const args = ['--broker', broker.url, '--device-id', 'd-crash', '--data-dir', dir.path, '--log-level', 'silent', '--api-port', '0', '--soak-s', '0']

    const crashing = startCli([...args, '--fault-crash-during-install', 'switching'])
    cleanups.push(async () => {
      if (crashing.child.exitCode === null) crashing.child.kill('SIGKILL')
    })
    await harness.waitFor((message) => message.deviceId === 'd-crash' && message.kind === 'sync', 15_000, 'sync')
    await harness.sendDirective(harness.installDirective('d-crash', 1, artifact))
    await crashing.finished
    expect(crashing.child.signalCode).toBe('SIGKILL')
    const persisted = JSON.parse(await readFile(join(dir.path, 'state.json'), 'utf8')) as { install: { state: string } }
    expect(persisted.install.state).toBe('switching')

    const restarted = startCli(args)
    cleanups.push(async () => {
      if (restarted.child.exitCode === null) restarted.child.kill('SIGKILL')
    })
    await harness.waitForReport('d-crash', 'committed', 1, 15_000)
    expect(restarted.stdout()).toMatch(/^agent started; inference API http:\/\/127\.0\.0\.1:\d+\n$/)
    restarted.child.kill('SIGTERM')
    expect((await restarted.finished).code).toBe(0)
  })
})
